"""The fake's own parse modes, as Telegram words them: entities in UTF-16 units, and Telegram's
refusals (the bot's tests rely on the fake refusing what Telegram would)."""

import pytest

from fake_bot_api.formatting import ParseError, parse_html
from fake_bot_api.markdown import parse_markdown_v2


def test_html_gives_text_and_entities() -> None:
    text, entities = parse_html(
        '<b>Hi</b> &amp; <a href="https://x.y">link</a> <span class="tg-spoiler">s</span> <i>😀x</i>'
    )
    assert text == "Hi & link s 😀x"
    assert entities == [
        {"type": "bold", "offset": 0, "length": 2},
        {"type": "text_link", "offset": 5, "length": 4, "url": "https://x.y"},
        {"type": "spoiler", "offset": 10, "length": 1},
        {"type": "italic", "offset": 12, "length": 3},  # the emoji is two UTF-16 units
    ]


@pytest.mark.parametrize(
    ("html", "says"),
    [
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<x>y</x>", 'Unsupported start tag "x"'),
        ("a & b", "Unsupported HTML entity"),
        ("<span>s</span>", 'Tag "span" must have class "tg-spoiler"'),
        ('<a href="q>x</a>', 'Unclosed end of attribute value "href"'),
        ("<b>x</i>", 'expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag"),
        ("<b x>y</b>", "Expected equal sign"),
    ],
)
def test_html_refuses_what_telegram_refuses(html: str, says: str) -> None:
    with pytest.raises(ParseError, match=says.replace("(", r"\(")):
        parse_html(html)


def test_a_stray_ampersand_is_text_when_not_strict() -> None:
    assert parse_html("a & b", strict_entities=False) == ("a & b", [])


def test_markdown_v2_gives_text_and_entities() -> None:
    text, entities = parse_markdown_v2("*bold* _it_ [l](http://x) `c` ||s||")
    assert text == "bold it l c s"
    assert [e["type"] for e in entities] == ["bold", "italic", "text_link", "code", "spoiler"]
    assert entities[2]["url"] == "http://x"


@pytest.mark.parametrize(
    ("markdown", "says"),
    [
        ("a.b", "Character '.' is reserved"),
        ("*open", "Can't find end of Bold entity"),
        ("`open", "Can't find end of Code entity"),
        ("[l](http://x", "Can't find end of a URL"),
        ("a|b", "Character '|' is reserved"),
        ("![e](tg://emoji?id=x)", "Custom emoji URL must have an emoji identifier"),
    ],
)
def test_markdown_v2_refuses_what_telegram_refuses(markdown: str, says: str) -> None:
    with pytest.raises(ParseError, match=says.replace("(", r"\(").replace("?", r"\?")):
        parse_markdown_v2(markdown)

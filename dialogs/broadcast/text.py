"""The broadcast composer's words: who may be chosen, and why a message was refused."""

from __future__ import annotations

from html import escape

from aiogram.utils.i18n import gettext

from bot.i18n import N_
from bot.services.broadcasts import Invalid

ROLE_LABELS = {
    "woman": N_("Participants (women)"),
    "relative": N_("Relatives"),
    "curator": N_("Curators"),
    "facilitator": N_("Facilitators"),
    "staff": N_("Staff"),
    "none": N_("Everyone else (no role yet)"),
}
CATEGORY_LABELS = {
    "housing": N_("Housing"),
    "work": N_("Work"),
    "documents": N_("Documents"),
    "children_family": N_("Children and family"),
    "health_addiction": N_("Health and addiction"),
    "legal": N_("Legal help"),
    "money": N_("Money"),
}
REASONS = {
    "empty": N_("The message is empty. Please write some text."),
    "too_long": N_("The text is too long: {length} characters, Telegram allows {limit}. Please shorten it."),
    "caption_too_long": N_("The caption is too long: {length} characters, Telegram allows {limit}. Please shorten it."),
    "html": N_("The formatting is broken: {why}. Please fix it and send the text again."),
    "url": N_("The link must start with https:// and have no spaces."),
    "button": N_("A button needs both a text and a link."),
    "button_text": N_("The button text is too long: at most {limit} characters."),
    "nobody": N_("Nobody matches this audience. Please choose other people."),
    "past": N_("This time has already passed. Please choose a time in the future."),
    "file": N_("Please send a text, a photo or a document."),
    "kind": N_("Please send a text, a photo or a document."),
}


def reason_words(reason: str) -> str:
    """Why a broadcast was refused, in the reader's words."""
    msgid = REASONS.get(reason, REASONS["empty"])
    return gettext(msgid)


HTML_PROBLEMS = {
    "stray_lt": N_("a “&lt;” that is not a tag (write &amp;lt; for the sign itself)"),
    "stray_gt": N_("a “&gt;” that is not part of a tag (write &amp;gt;)"),
    "stray_amp": N_("an “&amp;” that is not an entity (write &amp;amp;)"),
    "unknown_tag": N_("the tag &lt;{tag}&gt; is not supported by Telegram"),
    "unclosed": N_("the tag &lt;{tag}&gt; is not closed"),
    "unopened": N_("a closing tag &lt;/{tag}&gt; without its opening tag"),
    "attribute": N_("the tag &lt;{tag}&gt; has an attribute Telegram does not accept"),
    "link": N_("a link in &lt;a href&gt; is not a web address"),
}


def reason_text(exc: Invalid) -> str:
    detail = dict(exc.detail)
    if exc.reason == "html":
        problem = HTML_PROBLEMS.get(str(detail.get("problem")), HTML_PROBLEMS["unknown_tag"])
        detail["why"] = gettext(problem).format(tag=escape(str(detail.get("tag", ""))))
    return reason_words(exc.reason).format(**detail)

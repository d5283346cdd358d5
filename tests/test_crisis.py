from pathlib import Path

import pytest

from bot.services.crisis import CrisisDetector

CONTENT = Path(__file__).resolve().parent.parent / "content" / "crisis"


@pytest.fixture(scope="module")
def detector() -> CrisisDetector:
    return CrisisDetector.from_dir(CONTENT)


@pytest.mark.parametrize(
    "text",
    [
        "Муж опять меня избил",
        "мне негде ночевать сегодня",
        "Не хочу жить",
        "он угрожает забрать детей и убить",
        "I want to kill myself",
        "he hit me again",
        "I have nowhere to sleep tonight",
        "НЕ ХОЧУ ЖИТЬ!!!",
        "Муж бьёт меня",  # ё is folded into е
    ],
)
def test_danger_is_noticed(detector: CrisisDetector, text: str) -> None:
    assert detector.detect(text)


@pytest.mark.parametrize(
    "text",
    [
        "Здравствуйте, помогите найти работу",
        "у нас был задушевный разговор",
        "встреча сорвалась, перенесём?",
        "hit me up when the meeting is set",
        "where can I get my passport back",
        "",
        None,
    ],
)
def test_everyday_talk_is_not_an_alarm(detector: CrisisDetector, text: str | None) -> None:
    assert not detector.detect(text)


def test_prefix_and_whole_word_entries() -> None:
    d = CrisisDetector(["избил*", "бьет", "no place to sleep"])
    assert d.detect("меня избили")
    assert d.detect("он бьёт")
    assert not d.detect("бьется сердце")  # whole word only
    assert d.detect("I have NO   place to sleep")
    assert not d.detect("no placement")


def test_lists_are_loaded_for_both_languages(detector: CrisisDetector) -> None:
    assert detector.size > 100
    assert {p.stem for p in CONTENT.glob("*.txt")} == {"ru", "en"}


def test_long_text_is_scanned_without_trouble(detector: CrisisDetector) -> None:
    assert detector.detect("я " * 3000 + "хочу умереть")
    assert not detector.detect("а" * 100_000)

import pytest

from bot.services.start_payload import RegionLink, Unknown, parse


def test_no_payload() -> None:
    assert parse(None) is None
    assert parse("") is None


def test_region_link() -> None:
    assert parse("r-altai_krai") == RegionLink("altai_krai")


@pytest.mark.parametrize("payload", ["hello", "inv-", "r-", "r-ALTAI", "x" * 64])
def test_unrecognised(payload: str) -> None:
    assert parse(payload) == Unknown("unrecognised")


@pytest.mark.parametrize("payload", ["x" * 65, "пример", "a b", "a/b", "<script>"])
def test_malformed(payload: str) -> None:
    assert parse(payload) == Unknown("malformed")


def test_invite_link_keeps_dashes_in_the_token() -> None:
    from bot.services.start_payload import InviteLink

    assert parse("i-Ab3-_xYz0123456789kLmNoPq") == InviteLink("Ab3-_xYz0123456789kLmNoPq")
    assert parse("i-short") == Unknown("unrecognised")

"""content/regions/perm_krai.yaml: the procedure's own region, with no number nobody checked."""

from datetime import date
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import catalog

REGIONS = Path(__file__).resolve().parent.parent / "content" / "regions"


def test_perm_krai_names_its_services_and_no_unchecked_contact() -> None:
    perm = catalog.parse_region_file(REGIONS / "perm_krai.yaml")
    assert perm.code == "perm_krai" and perm.timezone == "Asia/Yekaterinburg"
    titles = {e.title["ru"] for e in perm.entries}
    assert {
        "Муниципальная служба примирения (служба медиации)",
        "Комиссия по делам несовершеннолетних и защите их прав (КДНиЗП)",
        "Социальная служба реабилитации семей и детей",
    } <= titles
    # The source gives no phone or address: none is shown until the team adds a checked one.
    assert all(e.phone is None and e.address is None and e.url is None for e in perm.entries)
    assert not [e for e in perm.entries if e.kind == "crisis"]
    header = (REGIONS / "perm_krai.yaml").read_text(encoding="utf-8")
    assert "seeds/002_2743579d7a2fec27.txt" in header and "/catalog" in header


async def test_perm_krai_shows_the_nationwide_lines(session: AsyncSession) -> None:
    await catalog.sync_from_files(session, REGIONS)
    day = date(2026, 12, 3)
    perm = await catalog.crisis_contacts(session, "perm_krai", "ru", day)
    nationwide = await catalog.crisis_contacts(session, None, "ru", day)
    assert perm and [c.phone for c in perm] == [c.phone for c in nationwide]
    assert "perm_krai" in [r.code for r in await catalog.regions(session)]

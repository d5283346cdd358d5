"""Updates by need: everyone subscribed by default, her own choice per category, who a broadcast reaches."""

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import catalog, subscriptions, users
from db.models import Role
from tests.factories import NOW, REGION_A, REGION_B, Ids, ensure_regions

_ids = Ids(740_000_000, __name__)


async def test_default_is_every_category_and_a_choice_is_kept(session: AsyncSession) -> None:
    await ensure_regions(session)
    woman = await _ids.person(session, Role.WOMAN, region=REGION_A)
    assert await subscriptions.get(session, woman.user_id) == dict.fromkeys(catalog.CATEGORIES, True)
    after = await subscriptions.set(session, woman.user_id, "work", False)
    assert after["work"] is False and sum(after.values()) == len(catalog.CATEGORIES) - 1
    await subscriptions.set(session, woman.user_id, "work", False)  # the same tap twice: still one row
    await subscriptions.set(session, woman.user_id, "money", False)
    await subscriptions.set(session, woman.user_id, "money", True)
    got = await subscriptions.get(session, woman.user_id)
    assert list(got) == list(catalog.CATEGORIES)
    assert [c for c, on in got.items() if not on] == ["work"]
    with pytest.raises(ValueError):
        await subscriptions.set(session, woman.user_id, "pets", True)


async def test_subscribers_by_region_category_and_blocking(session: AsyncSession) -> None:
    await ensure_regions(session)
    in_a = await _ids.person(session, Role.WOMAN, region=REGION_A)
    in_a_off = await _ids.person(session, Role.RELATIVE, region=REGION_A)
    in_b = await _ids.person(session, Role.WOMAN, region=REGION_B)
    nowhere = await _ids.person(session, None, region=None)
    blocked = await _ids.person(session, Role.WOMAN, region=REGION_A)
    await subscriptions.set(session, in_a_off.user_id, "housing", False)
    await users.set_blocked(session, blocked.user_id, True, now=NOW)
    mine = {in_a.user_id, in_a_off.user_id, in_b.user_id, nowhere.user_id, blocked.user_id}

    def of(ids: list[int]) -> set[int]:
        return set(ids) & mine

    assert of(await subscriptions.subscribers(session, category="housing", regions=[REGION_A])) == {in_a.user_id}
    assert of(await subscriptions.subscribers(session, category="work", regions=[REGION_A])) == {
        in_a.user_id,
        in_a_off.user_id,
    }
    assert of(await subscriptions.subscribers(session, category="housing", regions=[REGION_A, REGION_B])) == {
        in_a.user_id,
        in_b.user_id,
    }
    # The whole country: everyone not blocked who has not turned the category off, region or not.
    whole = {in_a.user_id, in_b.user_id, nowhere.user_id}
    assert of(await subscriptions.subscribers(session, category="housing", regions=None)) == whole
    assert of(await subscriptions.subscribers(session, category="housing", regions=[catalog.FEDERAL])) == whole
    assert of(await subscriptions.subscribers(session, category="housing", regions=[])) == whole
    with pytest.raises(ValueError):
        await subscriptions.subscribers(session, category="pets", regions=None)
    # The query form, for a broadcaster that adds conditions of its own.
    stmt = subscriptions.subscribers_query(category="housing", regions=[REGION_B])
    assert set(await session.scalars(stmt)) & mine == {in_b.user_id}
    await session.commit()

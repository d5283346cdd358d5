"""``db.cache.TableCache``: emptied by a change to the tables it watches, and by a deletion only on
those it watches for deletions (``gone``)."""

import itertools

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.cache import TableCache
from db.models import Case, Participant, User
from tests.factories import NOW

_ids = itertools.count(700_000_000)


async def test_a_user_made_or_changed_keeps_it_a_user_deleted_empties_it(session: AsyncSession) -> None:
    cache = TableCache(Participant, Case, gone=(User,))

    def kept() -> bool:
        cache.put(session, "her", True, cache.version)
        return cache.get(session, "her") is True

    def still() -> bool:
        return cache.get(session, "her") is True

    assert kept()
    uid = next(_ids)
    user = User(id=uid, first_seen=NOW, last_seen=NOW)
    session.add(user)
    await session.commit()
    assert still()  # a first contact
    user.last_seen = NOW.replace(hour=NOW.hour + 1)
    await session.commit()
    assert still()  # her last_seen written
    await session.execute(update(User).where(User.id == uid).values(app_language="en"))
    await session.commit()
    assert still()
    await session.delete(user)
    await session.commit()
    assert not still()  # her places in cases lose her (ON DELETE SET NULL)
    assert kept()
    other = User(id=next(_ids), first_seen=NOW, last_seen=NOW)
    session.add(other)
    await session.commit()
    await session.execute(delete(User).where(User.id == other.id))
    await session.commit()
    assert not still()
    assert kept()
    await session.execute(update(Case).where(Case.id == -1).values(closed_at=NOW))
    await session.commit()
    assert not still()  # a watched table: any change

"""Junk in, kind words out: random updates of every kind from several people (``bench/fuzz.py``).

Fixed seed and a bounded number of examples, so CI runs the same inputs every time; the long run with
random seeds is ``python -m bench.fuzz``. Asserts: no ERROR in the log, every private message and press
answered, no 400 from the fake Bot API.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings

from bench.fuzz import ErrorRecords, Fuzzer, rounds
from tests.conftest import ADMIN_ID, fresh_database

pytestmark = pytest.mark.e2e
_GROUP_IDS = itertools.count(-1_001_777_000_001, -1)
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))


@pytest.fixture
async def database_url(backend: str, tmp_path: Path) -> str:
    """A database of its own: the admin of the fuzz gives roles to random ids, and other tests' lists
    of team members must not grow with them."""
    return await fresh_database(backend, tmp_path)


@pytest.fixture
def error_log() -> Iterator[ErrorRecords]:
    handler = ErrorRecords()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)


@pytest.fixture
async def fuzzer(fake: Any, start_bot: Any) -> Fuzzer:
    fake.group_limit_per_minute = None
    group = fake.supergroup(title="Кураторы", chat_id=next(_GROUP_IDS))
    admin = fake.user(first_name="Админ", language_code="ru")
    app = await start_bot(
        admin_ids=f"{ADMIN_ID},{admin.id}",
        curator_chat_id=group.id,
        unchecked={"group_messages_per_minute": 1200},  # the group's pace is not what is fuzzed
    )
    return Fuzzer.crowd(fake, app, people=5, admin=admin, group=group)


@seed(17)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=False,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: bounded time in CI; the report names the inputs
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(plan=rounds(min_actions=12, max_actions=30))  # hypothesis starts small: a floor keeps rounds busy
async def test_random_updates_get_kind_answers_and_no_failures(
    fuzzer: Fuzzer, error_log: ErrorRecords, plan: list[tuple[Any, ...]]
) -> None:
    problems = await fuzzer.run(plan)
    errors = [f"{r.name}: {r.getMessage()}" for r in error_log.records]
    error_log.records.clear()
    problems.errors.extend(errors)
    assert not problems, problems.report()

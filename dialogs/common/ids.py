"""Unique dialog ids.

aiogram_dialog 2.x names each opened dialog ("intent") with ``int(time.time()) % 10**8 +
randint(0, 99) * 10**8``: only a hundred different ids per second. Two dialogs a person opens
within one second (the programme, then urgent help) collide once in a hundred times; the second
then overwrites the first's state and "Back" finds nothing — the tests caught it. Until the library
changes, its id source is replaced by 48 random bits (nine characters in callback data).
"""

from __future__ import annotations

import secrets

from aiogram_dialog.api.entities import stack

ID_BITS = 48


def _random_int_id() -> int:
    return secrets.randbits(ID_BITS) or 1


def install_unique_intent_ids() -> None:
    stack.new_int_id = _random_int_id

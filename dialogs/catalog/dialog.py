"""The support catalog edited from the bot: region (admins choose) → need → entries → an entry's card.

What each screen shows is in ``getters``, what its buttons do in ``handlers``, the screens in
``windows``, the words in ``text``. ``start_catalog`` and ``catalog_history`` serve ``/catalog`` and
``/catalog_history``.
"""

from __future__ import annotations

from aiogram_dialog import Dialog

from dialogs.catalog.handlers import catalog_history, on_start, start_catalog
from dialogs.catalog.windows import choice_windows, entry_windows

__all__ = ["catalog_history", "dialog", "start_catalog"]


def dialog() -> Dialog:
    """Built anew for every dispatcher: a Dialog is a router and joins one parent only."""
    return Dialog(*choice_windows(), *entry_windows(), on_start=on_start)

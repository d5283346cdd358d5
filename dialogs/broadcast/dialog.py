"""The broadcast composer (staff, admins; ``/broadcast``): the message, an optional link button, the
audience, a preview and the exact count, then send now or at a chosen time.

``start_data={"text": <HTML>, "audience": {"categories": [...], "regions": [...]}}`` prefills it (the
catalog's "tell those subscribed" button). What each screen shows is in ``getters``, what its
buttons do in ``handlers``, the screens in ``windows``, the words in ``text``.
"""

from __future__ import annotations

from aiogram_dialog import Dialog

from dialogs.broadcast.handlers import on_start
from dialogs.broadcast.windows import audience_windows, message_windows, time_windows


def dialog() -> Dialog:
    return Dialog(*message_windows(), *audience_windows(), *time_windows(), on_start=on_start)

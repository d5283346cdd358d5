"""A fake Telegram Bot API server speaking the real HTTP/JSON wire format.

The bot under test talks to it over real HTTP (``aiohttp``), exactly as it would talk
to ``https://api.telegram.org``; tests drive "people" through :class:`FakeUser`
(see ``user.py``) and inspect what the bot did through :attr:`FakeTelegram.calls`
and the per-chat event log.

:class:`FakeTelegram` is put together from one class per concern, each in a module of its own and
each building on the one before (so a method may call anything defined earlier in the chain):

- ``core.FakeCore`` — state, lifecycle, the HTTP layer, dispatch (faults, delays, rate limits);
- ``control.Control`` — what tests call: ``user()``, ``supergroup()``, ``fail()``, ``delay()``, …;
- ``checks.Checks`` — validation the methods share (chats, formatting, markup, stored messages, files);
- ``updates.Updates`` — ``getMe``, ``getUpdates`` (long polling), webhooks;
- ``chats.Chats`` — commands, the menu button, the bot's name and descriptions, ``getChat``;
- ``messages.Messages`` — sending, editing, deleting, copying and forwarding;
- ``forum.Forum`` — forum topics, chat members and administrators;
- ``people.People`` — callback answers, files, and what a person's client causes.

Constants (limits, error texts) are in ``constants.py``; records (``TelegramError``, ``ApiCall``,
``MessageRecord``, ``ChatState``, …) and the parameter helpers in ``records.py``.

Adding a Bot API method is one function in the class of its concern::

    @api_method("sendDice")
    async def _send_dice(self, p: Params) -> dict: ...

or at runtime: ``fake.register_method("sendDice", handler)``.
"""

from __future__ import annotations

from .people import People
from .records import (
    MEDIA_METHODS,
    ApiCall,
    ChatEvent,
    ChatState,
    GroupState,
    MessageRecord,
    OkResult,
    TelegramError,
    TopicState,
    UploadedFile,
    api_method,
)

__all__ = [
    "ApiCall",
    "ChatEvent",
    "ChatState",
    "FakeTelegram",
    "GroupState",
    "MessageRecord",
    "OkResult",
    "TelegramError",
    "TopicState",
    "UploadedFile",
    "api_method",
]


class FakeTelegram(People):
    """In-memory fake of the Telegram Bot API, served over real HTTP on 127.0.0.1."""

    def _register_api_methods(self) -> None:
        for attr in dir(type(self)):
            fn = getattr(type(self), attr, None)
            name = getattr(fn, "__api_method__", None)
            if name:
                self.register_method(name, getattr(self, attr))
        for method_name, (kind, mime) in MEDIA_METHODS.items():
            self.register_method(method_name, self._make_media_sender(kind, mime))

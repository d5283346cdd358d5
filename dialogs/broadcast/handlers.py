"""The broadcast composer: what its buttons and messages do. Text typed with Telegram's own formatting
is taken as its HTML; text without it is read as HTML source (``<b>…</b>``) and checked like Telegram
would.
"""

from __future__ import annotations

from datetime import date, datetime
from html import escape
from typing import Any

from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext
from aiogram_dialog import DialogManager, ShowMode
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button

from bot.jobs.broadcaster import send_content
from bot.services import broadcasts, catalog, meetings, parse
from bot.services.broadcasts import Audience, Content, Invalid, Refused
from bot.services.cases import Invalid as TimeInvalid
from bot.services.formatting import format_when
from db.models import Role
from dialogs.broadcast.getters import (
    audience_count,
    audience_of,
    content_of,
    reader_zone,
    region_names,
)
from dialogs.broadcast.text import reason_text, reason_words
from dialogs.common.getters import fresh_profile, locale_of, reading, user_id_of
from dialogs.common.scope import scope
from dialogs.states import BroadcastSG

_FORMATTING = {
    "bold",
    "italic",
    "underline",
    "strikethrough",
    "spoiler",
    "code",
    "pre",
    "text_link",
    "blockquote",
    "expandable_blockquote",
    "custom_emoji",
}


def _set_audience(manager: DialogManager, audience: Audience) -> None:
    manager.dialog_data["audience"] = audience.to_json()


async def on_start(start_data: Any, manager: DialogManager) -> None:
    data = start_data if isinstance(start_data, dict) else {}
    given = data["audience"] if isinstance(data.get("audience"), dict) else {}
    regions = [r for r in given.get("regions") or [] if r and r != catalog.FEDERAL]
    actor = await fresh_profile(manager)
    if actor.role != Role.ADMIN:
        regions = [actor.scope_region] if actor.scope_region else []
    roles = given.get("roles") or (["woman", "relative", "none"] if given.get("categories") else [])
    _set_audience(manager, Audience.from_json({**given, "roles": roles, "regions": regions}))
    if isinstance(data.get("text"), str) and data["text"].strip():
        try:
            broadcasts.plain_text(data["text"])
            manager.dialog_data["draft"] = data["text"]
        except Invalid:
            manager.dialog_data["draft"] = escape(data["text"])


async def _take_content(message: Message | None, content: Content, manager: DialogManager) -> bool:
    try:
        checked = broadcasts.check_content(content)
    except Invalid as exc:
        if message is not None:
            await message.answer(reason_text(exc))
        return False
    manager.dialog_data["content"] = {"kind": checked.kind, "text": checked.text, "file_id": checked.file_id}
    return True


async def on_content(message: Message, _widget: MessageInput, manager: DialogManager) -> None:
    manager.show_mode = ShowMode.SEND
    entities = message.entities or message.caption_entities or []
    formatted = any(e.type in _FORMATTING for e in entities)
    raw = message.text if message.text is not None else message.caption
    text = message.html_text if formatted else (raw or "")
    if message.photo:
        content = Content("photo", text, message.photo[-1].file_id)
    elif message.document:
        content = Content("document", text, message.document.file_id)
    else:
        content = Content("text", text)
    if await _take_content(message, content, manager):
        await manager.switch_to(BroadcastSG.button)


async def on_use_draft(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    draft = manager.dialog_data.get("draft") or ""
    try:
        broadcasts.check_content(Content("text", draft))
    except Invalid as exc:
        await callback.answer(reason_text(exc)[:200], show_alert=True)
        return
    await _take_content(None, Content("text", draft), manager)
    await manager.switch_to(BroadcastSG.button)


async def on_other(message: Message, _widget: MessageInput, manager: DialogManager) -> None:
    manager.show_mode = ShowMode.SEND
    await message.answer(reason_words("file"))


async def on_button(message: Message, _widget: MessageInput, manager: DialogManager) -> None:
    manager.show_mode = ShowMode.SEND
    raw = (message.text or "").strip()
    if "\n" in raw:
        label, _, url = raw.partition("\n")
    else:
        label, _, url = raw.rpartition("|") if "|" in raw else ("", "", raw)
    content = content_of(manager)
    try:
        checked = broadcasts.check_content(
            Content(content.kind, content.text, content.file_id, label.strip().strip("|").strip(), url.strip())
        )
    except Invalid as exc:
        await message.answer(reason_text(exc))
        return
    manager.dialog_data["button_text"] = checked.button_text
    manager.dialog_data["button_url"] = checked.button_url
    await manager.switch_to(BroadcastSG.audience)


async def on_no_button(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    manager.dialog_data.pop("button_text", None)
    manager.dialog_data.pop("button_url", None)
    await manager.switch_to(BroadcastSG.audience)


def _toggle(values: tuple[Any, ...], value: Any) -> list[Any]:
    return [v for v in values if v != value] if value in values else [*values, value]


async def on_role(callback: CallbackQuery, _widget: Any, manager: DialogManager, item_id: str) -> None:
    if item_id not in broadcasts.ROLES:
        await callback.answer(gettext("This button is out of date."))
        return
    a = audience_of(manager)
    _set_audience(manager, Audience(tuple(_toggle(a.roles, item_id)), a.regions, a.stages, a.categories))


async def on_region(callback: CallbackQuery, _widget: Any, manager: DialogManager, item_id: str) -> None:
    actor = await fresh_profile(manager)
    if actor.role != Role.ADMIN or item_id not in await region_names(manager):
        await callback.answer(gettext("This button is out of date."))
        return
    a = audience_of(manager)
    _set_audience(manager, Audience(a.roles, tuple(_toggle(a.regions, item_id)), a.stages, a.categories))


async def on_stage(callback: CallbackQuery, _widget: Any, manager: DialogManager, item_id: str) -> None:
    if not parse.digits(item_id) or int(item_id) not in broadcasts.STAGES:
        await callback.answer(gettext("This button is out of date."))
        return
    a = audience_of(manager)
    _set_audience(manager, Audience(a.roles, a.regions, tuple(_toggle(a.stages, int(item_id))), a.categories))


async def on_category(callback: CallbackQuery, _widget: Any, manager: DialogManager, item_id: str) -> None:
    if item_id not in catalog.CATEGORIES:
        await callback.answer(gettext("This button is out of date."))
        return
    a = audience_of(manager)
    _set_audience(manager, Audience(a.roles, a.regions, a.stages, tuple(_toggle(a.categories, item_id))))


async def on_audience_done(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    if await audience_count(manager) == 0:
        await callback.answer(reason_words("nobody"), show_alert=True)
        return
    manager.dialog_data.pop("at", None)
    await _preview(manager)
    await manager.switch_to(BroadcastSG.when, show_mode=ShowMode.SEND)


async def _preview(manager: DialogManager) -> None:
    bot = scope(manager).bot
    chat = user_id_of(manager)
    await bot.send_message(chat, gettext("👁 <b>Preview</b> — this is how everyone will see it:"))
    try:
        await send_content(bot, chat, content_of(manager))
    except TelegramAPIError as exc:
        await bot.send_message(
            chat, gettext("Telegram refused this message ({error}).").format(error=type(exc).__name__)
        )


async def on_preview(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    await _preview(manager)
    manager.show_mode = ShowMode.SEND


async def on_day(callback: CallbackQuery, _widget: Any, manager: DialogManager, day: date) -> None:
    if day < scope(manager).app.today(await reader_zone(manager)):
        await callback.answer(gettext("This day has already passed."))
        return
    manager.dialog_data["day"] = day.isoformat()
    await manager.switch_to(BroadcastSG.at_time)


async def on_time(message: Message, _widget: MessageInput, manager: DialogManager) -> None:
    manager.show_mode = ShowMode.SEND
    try:
        at = meetings.parse_time(message.text)
        moment = meetings.local_to_utc(date.fromisoformat(manager.dialog_data["day"]), at, await reader_zone(manager))
    except TimeInvalid:
        await message.answer(gettext("I could not read this time. Please write it like 14:30."))
        return
    if moment <= scope(manager).app.now():
        await message.answer(reason_words("past"))
        return
    manager.dialog_data["at"] = moment.isoformat()
    await manager.switch_to(BroadcastSG.when)


async def _confirm(callback: CallbackQuery, manager: DialogManager, *, scheduled: bool) -> None:
    s = scope(manager)
    app = s.app
    actor = await fresh_profile(manager)
    at = datetime.fromisoformat(manager.dialog_data["at"]) if scheduled and manager.dialog_data.get("at") else None
    try:
        async with reading(manager) as session:
            created = await broadcasts.create(
                session,
                actor=actor,
                content=content_of(manager),
                audience=audience_of(manager),
                now=app.now(),
                scheduled_at=at,
                progress_chat_id=user_id_of(manager),
            )
    except Invalid as exc:
        await callback.answer(reason_text(exc)[:200], show_alert=True)
        return
    except Refused:
        await callback.answer(gettext("You cannot send to these people."), show_alert=True)
        return
    broadcaster = s.broadcaster
    if created.scheduled_at is None:
        text = gettext("📣 Broadcast #{id}: sending to {count} people. The progress follows.").format(
            id=created.id, count=created.total
        )
    else:
        when = format_when(created.scheduled_at, locale_of(manager), await reader_zone(manager))
        text = gettext(
            "📅 Broadcast #{id} will go to {count} people on {when}. /broadcasts to see or cancel it."
        ).format(id=created.id, count=created.total, when=when)
    await manager.done()
    if callback.message is not None:
        await callback.message.answer(text)
    if broadcaster is not None and created.scheduled_at is None:
        broadcaster.kick()


async def on_send_now(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    await _confirm(callback, manager, scheduled=False)


async def on_schedule(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    await _confirm(callback, manager, scheduled=True)

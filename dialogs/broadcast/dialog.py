"""The broadcast composer (staff, admins; ``/broadcast``): the message, an optional link button, the
audience, a preview and the exact count, then send now or at a chosen time.

``start_data={"text": <HTML>, "audience": {"categories": [...], "regions": [...]}}`` prefills it (the
catalog's "tell those subscribed" button). Text typed with Telegram's own formatting is taken as
its HTML; text without it is read as HTML source (``<b>…</b>``) and checked like Telegram would.
"""

from __future__ import annotations

from datetime import date
from html import escape
from typing import Any

from aiogram import Bot, F
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, ContentType, Message
from aiogram.utils.i18n import gettext
from aiogram_dialog import Dialog, DialogManager, ShowMode, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button, Cancel, SwitchTo

from bot.context import AppContext
from bot.i18n import N_
from bot.jobs.broadcaster import Broadcaster, send_content
from bot.services import broadcasts, catalog, meetings, parse
from bot.services.broadcasts import Audience, Content, Invalid, Refused
from bot.services.cases import Invalid as TimeInvalid
from bot.services.formatting import format_when
from db.models import Role
from dialogs.common.calendar import LocalizedCalendar
from dialogs.common.getters import fresh_profile, locale_of, reading, user_id_of
from dialogs.common.widgets import Tr, choices, crisis_button, on_not_text
from dialogs.states import BroadcastSG

ROLE_LABELS = {
    "woman": N_("Participants (women)"),
    "relative": N_("Relatives"),
    "curator": N_("Curators"),
    "facilitator": N_("Facilitators"),
    "staff": N_("Staff"),
    "none": N_("Everyone else (no role yet)"),
}
CATEGORY_LABELS = {
    "housing": N_("Housing"),
    "work": N_("Work"),
    "documents": N_("Documents"),
    "children_family": N_("Children and family"),
    "health_addiction": N_("Health and addiction"),
    "legal": N_("Legal help"),
    "money": N_("Money"),
}
REASONS = {
    "empty": N_("The message is empty. Please write some text."),
    "too_long": N_("The text is too long: {length} characters, Telegram allows {limit}. Please shorten it."),
    "caption_too_long": N_("The caption is too long: {length} characters, Telegram allows {limit}. Please shorten it."),
    "html": N_("The formatting is broken: {why}. Please fix it and send the text again."),
    "url": N_("The link must start with https:// and have no spaces."),
    "button": N_("A button needs both a text and a link."),
    "button_text": N_("The button text is too long: at most {limit} characters."),
    "nobody": N_("Nobody matches this audience. Please choose other people."),
    "past": N_("This time has already passed. Please choose a time in the future."),
    "file": N_("Please send a text, a photo or a document."),
    "kind": N_("Please send a text, a photo or a document."),
}


def reason_words(reason: str) -> str:
    """Why a broadcast was refused, in the reader's words."""
    msgid = REASONS.get(reason, REASONS["empty"])
    return gettext(msgid)


HTML_PROBLEMS = {
    "stray_lt": N_("a “&lt;” that is not a tag (write &amp;lt; for the sign itself)"),
    "stray_gt": N_("a “&gt;” that is not part of a tag (write &amp;gt;)"),
    "stray_amp": N_("an “&amp;” that is not an entity (write &amp;amp;)"),
    "unknown_tag": N_("the tag &lt;{tag}&gt; is not supported by Telegram"),
    "unclosed": N_("the tag &lt;{tag}&gt; is not closed"),
    "unopened": N_("a closing tag &lt;/{tag}&gt; without its opening tag"),
    "attribute": N_("the tag &lt;{tag}&gt; has an attribute Telegram does not accept"),
    "link": N_("a link in &lt;a href&gt; is not a web address"),
}
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


def reason_text(exc: Invalid) -> str:
    detail = dict(exc.detail)
    if exc.reason == "html":
        problem = HTML_PROBLEMS.get(str(detail.get("problem")), HTML_PROBLEMS["unknown_tag"])
        detail["why"] = gettext(problem).format(tag=escape(str(detail.get("tag", ""))))
    return reason_words(exc.reason).format(**detail)


def _app(manager: DialogManager) -> AppContext:
    return manager.middleware_data["app"]


async def _actor(manager: DialogManager):
    return await fresh_profile(manager)


def _content(manager: DialogManager) -> Content:
    data = manager.dialog_data.get("content") or {}
    return Content(
        kind=data.get("kind", "text"),
        text=data.get("text"),
        file_id=data.get("file_id"),
        button_text=manager.dialog_data.get("button_text"),
        button_url=manager.dialog_data.get("button_url"),
    )


def _audience(manager: DialogManager) -> Audience:
    return Audience.from_json(manager.dialog_data.get("audience"))


def _set_audience(manager: DialogManager, audience: Audience) -> None:
    manager.dialog_data["audience"] = audience.to_json()


async def on_start(start_data: Any, manager: DialogManager) -> None:
    data = start_data if isinstance(start_data, dict) else {}
    given = data["audience"] if isinstance(data.get("audience"), dict) else {}
    regions = [r for r in given.get("regions") or [] if r and r != catalog.FEDERAL]
    actor = await _actor(manager)
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


# ---------------------------------------------------------------- content


async def content_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    draft = dialog_manager.dialog_data.get("draft")
    return {"has_draft": bool(draft), "draft": draft or ""}


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


# ---------------------------------------------------------------- the button


async def on_button(message: Message, _widget: MessageInput, manager: DialogManager) -> None:
    manager.show_mode = ShowMode.SEND
    raw = (message.text or "").strip()
    if "\n" in raw:
        label, _, url = raw.partition("\n")
    else:
        label, _, url = raw.rpartition("|") if "|" in raw else ("", "", raw)
    content = _content(manager)
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


# ---------------------------------------------------------------- the audience


async def _count(manager: DialogManager) -> int:
    actor = await _actor(manager)
    try:
        audience = broadcasts.in_scope(actor, _audience(manager))
    except Refused:
        return 0
    async with reading(manager) as session:
        people = await broadcasts.resolve(session, audience)
        await session.commit()
    return len(people)


async def _region_names(manager: DialogManager) -> dict[str, str]:
    locale = locale_of(manager)
    async with reading(manager) as session:
        found = await catalog.regions(session)
        await session.commit()
    return {r.code: escape(r.title(locale)) for r in found}


async def audience_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    audience = _audience(dialog_manager)
    actor = await _actor(dialog_manager)
    names = await _region_names(dialog_manager)
    nothing = gettext("any")
    regions = audience.regions or ((actor.scope_region,) if actor.role != Role.ADMIN and actor.scope_region else ())
    return {
        "roles": ", ".join(gettext(ROLE_LABELS[r]) for r in audience.roles) or gettext("nobody chosen yet"),
        "regions": ", ".join(names.get(r, escape(r)) for r in regions) or gettext("all regions"),
        "stages": ", ".join(str(s) for s in audience.stages) or nothing,
        "categories": ", ".join(gettext(CATEGORY_LABELS.get(c, c)) for c in audience.categories) or nothing,
        "count": await _count(dialog_manager),
        "is_admin": actor.role == Role.ADMIN,
    }


def _mark(on: bool, label: str) -> str:
    return ("✅ " if on else "▫️ ") + label


async def roles_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    chosen = set(_audience(dialog_manager).roles)
    return {"items": [(r, _mark(r in chosen, gettext(label))) for r, label in ROLE_LABELS.items()]}


async def regions_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    chosen = set(_audience(dialog_manager).regions)
    names = await _region_names(dialog_manager)
    return {"items": [(code, _mark(code in chosen, name)) for code, name in names.items()]}


async def stages_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    from bot.wording.labels import STAGE_NAMES

    chosen = set(_audience(dialog_manager).stages)
    return {"items": [(str(s), _mark(s in chosen, gettext(STAGE_NAMES[s]))) for s in broadcasts.STAGES]}


async def categories_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    chosen = set(_audience(dialog_manager).categories)
    return {"items": [(c, _mark(c in chosen, gettext(CATEGORY_LABELS[c]))) for c in catalog.CATEGORIES]}


def _toggle(values: tuple[Any, ...], value: Any) -> list[Any]:
    return [v for v in values if v != value] if value in values else [*values, value]


async def on_role(callback: CallbackQuery, _widget: Any, manager: DialogManager, item_id: str) -> None:
    if item_id not in broadcasts.ROLES:
        await callback.answer(gettext("This button is out of date."))
        return
    a = _audience(manager)
    _set_audience(manager, Audience(tuple(_toggle(a.roles, item_id)), a.regions, a.stages, a.categories))


async def on_region(callback: CallbackQuery, _widget: Any, manager: DialogManager, item_id: str) -> None:
    actor = await _actor(manager)
    if actor.role != Role.ADMIN or item_id not in await _region_names(manager):
        await callback.answer(gettext("This button is out of date."))
        return
    a = _audience(manager)
    _set_audience(manager, Audience(a.roles, tuple(_toggle(a.regions, item_id)), a.stages, a.categories))


async def on_stage(callback: CallbackQuery, _widget: Any, manager: DialogManager, item_id: str) -> None:
    if not parse.digits(item_id) or int(item_id) not in broadcasts.STAGES:
        await callback.answer(gettext("This button is out of date."))
        return
    a = _audience(manager)
    _set_audience(manager, Audience(a.roles, a.regions, tuple(_toggle(a.stages, int(item_id))), a.categories))


async def on_category(callback: CallbackQuery, _widget: Any, manager: DialogManager, item_id: str) -> None:
    if item_id not in catalog.CATEGORIES:
        await callback.answer(gettext("This button is out of date."))
        return
    a = _audience(manager)
    _set_audience(manager, Audience(a.roles, a.regions, a.stages, tuple(_toggle(a.categories, item_id))))


async def on_audience_done(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    if await _count(manager) == 0:
        await callback.answer(reason_words("nobody"), show_alert=True)
        return
    manager.dialog_data.pop("at", None)
    await _preview(manager)
    await manager.switch_to(BroadcastSG.when, show_mode=ShowMode.SEND)


# ---------------------------------------------------------------- preview, time, confirm


async def _preview(manager: DialogManager) -> None:
    bot: Bot = manager.middleware_data["bot"]
    chat = user_id_of(manager)
    await bot.send_message(chat, gettext("👁 <b>Preview</b> — this is how everyone will see it:"))
    try:
        await send_content(bot, chat, _content(manager))
    except TelegramAPIError as exc:
        await bot.send_message(
            chat, gettext("Telegram refused this message ({error}).").format(error=type(exc).__name__)
        )


async def on_preview(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    await _preview(manager)
    manager.show_mode = ShowMode.SEND


async def _zone(manager: DialogManager) -> str:
    async with reading(manager) as session:
        zone = await meetings.zone_of(session, user_id_of(manager), None, _app(manager).settings.default_timezone)
        await session.commit()
    return zone


async def when_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    at = dialog_manager.dialog_data.get("at")
    when = ""
    if at:
        from datetime import datetime

        when = format_when(datetime.fromisoformat(at), locale_of(dialog_manager), await _zone(dialog_manager))
    return {"count": await _count(dialog_manager), "at": when, "scheduled": bool(at)}


async def day_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    return {"zone": await _zone(dialog_manager)}


async def on_day(callback: CallbackQuery, _widget: Any, manager: DialogManager, day: date) -> None:
    if day < _app(manager).today(await _zone(manager)):
        await callback.answer(gettext("This day has already passed."))
        return
    manager.dialog_data["day"] = day.isoformat()
    await manager.switch_to(BroadcastSG.at_time)


async def on_time(message: Message, _widget: MessageInput, manager: DialogManager) -> None:
    manager.show_mode = ShowMode.SEND
    try:
        at = meetings.parse_time(message.text)
        moment = meetings.local_to_utc(date.fromisoformat(manager.dialog_data["day"]), at, await _zone(manager))
    except TimeInvalid:
        await message.answer(gettext("I could not read this time. Please write it like 14:30."))
        return
    if moment <= _app(manager).now():
        await message.answer(reason_words("past"))
        return
    manager.dialog_data["at"] = moment.isoformat()
    await manager.switch_to(BroadcastSG.when)


async def _confirm(callback: CallbackQuery, manager: DialogManager, *, scheduled: bool) -> None:
    from datetime import datetime

    app = _app(manager)
    actor = await _actor(manager)
    at = datetime.fromisoformat(manager.dialog_data["at"]) if scheduled and manager.dialog_data.get("at") else None
    try:
        async with reading(manager) as session:
            created = await broadcasts.create(
                session,
                actor=actor,
                content=_content(manager),
                audience=_audience(manager),
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
    broadcaster: Broadcaster | None = manager.middleware_data.get("broadcaster")
    if created.scheduled_at is None:
        text = gettext("📣 Broadcast #{id}: sending to {count} people. The progress follows.").format(
            id=created.id, count=created.total
        )
    else:
        when = format_when(created.scheduled_at, locale_of(manager), await _zone(manager))
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


def dialog() -> Dialog:
    to_audience = SwitchTo(Tr("◀ Back"), id="aud", state=BroadcastSG.audience)
    return Dialog(
        Window(
            Tr(
                "<b>📣 New broadcast</b>\n\nSend the message: a text, or a photo or a document with a caption. "
                "Formatting: Telegram's own, or HTML like &lt;b&gt;bold&lt;/b&gt;."
            ),
            Tr("\n\nA text is ready:\n\n{draft}", when=F["has_draft"]),
            Button(Tr("✅ Use this text"), id="draft", on_click=on_use_draft, when=F["has_draft"]),
            MessageInput(on_content, content_types=[ContentType.TEXT, ContentType.PHOTO, ContentType.DOCUMENT]),
            MessageInput(on_other),
            Cancel(Tr("✖️ Cancel")),
            crisis_button(),
            getter=content_getter,
            state=BroadcastSG.content,
        ),
        Window(
            Tr(
                "Add a link button? Send its text and an https link on two lines, like:\n\nRead more\n"
                "https://example.org"
            ),
            MessageInput(on_button, content_types=[ContentType.TEXT]),
            MessageInput(on_not_text),
            Button(Tr("No button"), id="nobutton", on_click=on_no_button),
            SwitchTo(Tr("◀ Back"), id="content", state=BroadcastSG.content),
            crisis_button(),
            state=BroadcastSG.button,
        ),
        Window(
            Tr(
                "<b>Who gets it?</b>\n\nRoles: {roles}\nRegions: {regions}\nCase stages: {stages}\n"
                "Subscribed to: {categories}\n\n<b>{count}</b> people will receive it."
            ),
            SwitchTo(Tr("👥 Roles"), id="roles", state=BroadcastSG.roles),
            SwitchTo(Tr("📍 Regions"), id="regions", state=BroadcastSG.regions, when=F["is_admin"]),
            SwitchTo(Tr("🔢 Case stages"), id="stages", state=BroadcastSG.stages),
            SwitchTo(Tr("🏷 Subscribed to"), id="category", state=BroadcastSG.category),
            Button(Tr("Next ▶"), id="next", on_click=on_audience_done),
            SwitchTo(Tr("◀ Back"), id="button", state=BroadcastSG.button),
            crisis_button(),
            getter=audience_getter,
            state=BroadcastSG.audience,
        ),
        Window(
            Tr("Which roles?"),
            choices("role", "items", on_role),
            to_audience,
            crisis_button(),
            getter=roles_getter,
            state=BroadcastSG.roles,
        ),
        Window(
            Tr("Which regions? None chosen: all regions."),
            choices("region", "items", on_region),
            to_audience,
            crisis_button(),
            getter=regions_getter,
            state=BroadcastSG.regions,
        ),
        Window(
            Tr("Which case stages (for participants and relatives)? None chosen: any."),
            choices("stage", "items", on_stage),
            to_audience,
            crisis_button(),
            getter=stages_getter,
            state=BroadcastSG.stages,
        ),
        Window(
            Tr("Only those subscribed to (none chosen: no such filter):"),
            choices("cat", "items", on_category),
            to_audience,
            crisis_button(),
            getter=categories_getter,
            state=BroadcastSG.category,
        ),
        Window(
            Tr("<b>Ready.</b> The preview is above.\n\n<b>{count}</b> people will receive it."),
            Tr("\nTime: {at}", when=F["scheduled"]),
            Button(Tr("📣 Send now"), id="now", on_click=on_send_now),
            SwitchTo(Tr("📅 Choose a time"), id="day", state=BroadcastSG.at_day),
            Button(Tr("✅ Send on {at}"), id="schedule", on_click=on_schedule, when=F["scheduled"]),
            Button(Tr("👁 Preview again"), id="preview", on_click=on_preview),
            to_audience,
            crisis_button(),
            getter=when_getter,
            state=BroadcastSG.when,
        ),
        Window(
            Tr("Which day? (times are in {zone})"),
            LocalizedCalendar(id="cal", on_click=on_day, days_ahead=180, zone_key="zone"),
            SwitchTo(Tr("◀ Back"), id="when", state=BroadcastSG.when),
            crisis_button(),
            getter=day_getter,
            state=BroadcastSG.at_day,
        ),
        Window(
            Tr("What time? Write it like 14:30."),
            MessageInput(on_time, content_types=[ContentType.TEXT]),
            MessageInput(on_not_text),
            SwitchTo(Tr("◀ Back"), id="day2", state=BroadcastSG.at_day),
            crisis_button(),
            state=BroadcastSG.at_time,
        ),
        on_start=on_start,
    )

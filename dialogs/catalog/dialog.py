"""The support catalog edited from the bot: region (admins choose) → need → entries → an entry's card.

Buttons carry ids and codes only (a region code, a category code, an entry id); every press goes
back to ``bot.services.catalog_edit``, which checks the actor and the entry again, so a forged or
stale button is refused (and audited when it points at another region's entry).
"""

from __future__ import annotations

from datetime import date
from html import escape
from typing import Any

from aiogram import F
from aiogram.types import CallbackQuery, ContentType, Message
from aiogram.utils.i18n import gettext
from aiogram_dialog import Dialog, DialogManager, ShowMode, StartMode, Window
from aiogram_dialog.api.exceptions import DialogsError
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button, Cancel, Row, SwitchTo
from aiogram_dialog.widgets.text import Format, Multi
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import AppContext
from bot.services import catalog, catalog_edit, parse
from bot.services.catalog import Contact
from bot.services.users import Profile
from db.models import Role
from dialogs.catalog.text import PROMPTS, card, category_name, history_text, invalid_text, summary
from dialogs.common.getters import locale_of, reading, render_contact
from dialogs.common.widgets import Tr, choices, crisis_button, on_not_text
from dialogs.states import BroadcastSG, CatalogSG

# ------------------------------------------------------------------ helpers


def _app(manager: DialogManager) -> AppContext:
    return manager.middleware_data["app"]


def _actor(manager: DialogManager) -> Profile:
    """Who presses; the service reads her role afresh from the database on every call."""
    return manager.middleware_data["profile"]


async def _today(manager: DialogManager) -> date:
    async with reading(manager) as session:
        region = await catalog.region(session, manager.dialog_data.get("region"))
    return _app(manager).today(region.timezone if region else None)


async def _refused(callback: CallbackQuery) -> None:
    await callback.answer(gettext("This entry is not available to you."), show_alert=True)


async def start_catalog(manager: DialogManager, profile: Profile) -> bool:
    """``/catalog``: admins choose a region first, staff go straight to their own one."""
    if profile.role == Role.STAFF and not profile.scope_region:
        return False
    state = CatalogSG.region if profile.role == Role.ADMIN else CatalogSG.category
    await manager.start(
        state, data={"region": profile.scope_region}, mode=StartMode.RESET_STACK, show_mode=ShowMode.SEND
    )
    return True


async def catalog_history(session: AsyncSession, *, actor: Profile, app: AppContext, locale: str) -> str:
    """``/catalog_history``: the text of the latest changes (ends its transaction)."""
    try:
        changes = await catalog_edit.history(session, actor=actor, now=app.now())
    except catalog_edit.Refused:
        return gettext("This command is only for the programme team. The menu is below.")
    return history_text(changes, locale, app.settings.default_timezone)


async def on_start(start_data: Any, manager: DialogManager) -> None:
    data = start_data if isinstance(start_data, dict) else {}
    if data.get("region"):
        manager.dialog_data["region"] = data["region"]


# ------------------------------------------------------------------ region and need


async def regions_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    locale = locale_of(dialog_manager)
    async with reading(dialog_manager) as session:
        found = await catalog_edit.editable_regions(session, actor=_actor(dialog_manager))
    return {"regions": [(r.code, r.title(locale)) for r in found]}


async def on_region(callback: CallbackQuery, _widget: Any, manager: DialogManager, code: str) -> None:
    async with reading(manager) as session:
        found = await catalog_edit.editable_regions(session, actor=_actor(manager))
    if code not in {r.code for r in found}:
        await callback.answer(gettext("This button is out of date."))
        return
    manager.dialog_data["region"] = code
    await manager.switch_to(CatalogSG.category)


async def _region_name(manager: DialogManager) -> str:
    async with reading(manager) as session:
        region = await catalog.region(session, manager.dialog_data.get("region"))
    return escape(region.title(locale_of(manager))) if region else ""


async def categories_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    return {
        "region_name": await _region_name(dialog_manager),
        "categories": [(code, category_name(code)) for code in catalog.CATEGORIES],
        "is_admin": _actor(dialog_manager).role == Role.ADMIN,
    }


async def on_category(callback: CallbackQuery, _widget: Any, manager: DialogManager, code: str) -> None:
    if code not in catalog.CATEGORIES:
        await callback.answer(gettext("This button is out of date."))
        return
    manager.dialog_data["category"] = code
    await manager.switch_to(CatalogSG.entries)


# ------------------------------------------------------------------ entries


async def entries_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    data = dialog_manager.dialog_data
    locale = locale_of(dialog_manager)
    today = await _today(dialog_manager)
    try:
        async with reading(dialog_manager) as session:
            found = await catalog_edit.entries(
                session,
                actor=_actor(dialog_manager),
                region_code=data.get("region", ""),
                category=data.get("category", ""),
                now=dialog_manager.middleware_data["app"].now(),
            )
    except (catalog_edit.Refused, catalog_edit.Invalid):
        found, gone = [], True
    else:
        gone = False

    def label(view: catalog_edit.MeasureView) -> str:
        mark = "🗄 " if view.archived else "⌛ " if view.expired(today) else ""
        return mark + (view.text("title", locale) or view.key)

    return {
        "region_name": await _region_name(dialog_manager),
        "category_name": category_name(data.get("category")),
        "entries": [(str(v.id), label(v)) for v in found],
        "empty": not found and not gone,
        "gone": gone,
        "ok": not gone,
    }


async def on_entry(callback: CallbackQuery, _widget: Any, manager: DialogManager, item_id: str) -> None:
    if not parse.digits(item_id):
        await callback.answer(gettext("This button is out of date."))
        return
    try:
        async with reading(manager) as session:
            view = await catalog_edit.get(
                session, actor=_actor(manager), measure_id=int(item_id), now=manager.middleware_data["app"].now()
            )
    except catalog_edit.Refused:  # another region's entry, or none: audited by the service
        await _refused(callback)
        return
    data = manager.dialog_data
    if view.region_code != data.get("region") or view.category != data.get("category"):
        await callback.answer(gettext("This button is out of date."))
        return
    data.update(measure_id=view.id, saved=False)
    await manager.switch_to(CatalogSG.entry)


async def on_add(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    manager.dialog_data.update(mode="new", draft={}, field=catalog_edit.FIELDS[0])
    await manager.switch_to(CatalogSG.value)


# ------------------------------------------------------------------ one entry


async def _view(manager: DialogManager) -> catalog_edit.MeasureView | None:
    try:
        async with reading(manager) as session:
            return await catalog_edit.get(
                session,
                actor=_actor(manager),
                measure_id=int(manager.dialog_data.get("measure_id", 0)),
                now=manager.middleware_data["app"].now(),
            )
    except catalog_edit.Refused:
        return None


async def entry_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    view = await _view(dialog_manager)
    if view is None:
        return {"gone": True, "ok": False, "live": False, "archived": False, "saved": False}
    locale = locale_of(dialog_manager)
    return {
        "gone": False,
        "ok": True,
        "head": f"{category_name(view.category)} · {await _region_name(dialog_manager)}",
        "card": card(view, locale, await _today(dialog_manager)),
        "live": not view.archived,
        "archived": view.archived,
        "saved": bool(dialog_manager.dialog_data.get("saved")) and not view.archived,
    }


async def on_edit_field(callback: CallbackQuery, button: Button, manager: DialogManager) -> None:
    assert button.widget_id is not None  # the edit buttons all have ids
    field = button.widget_id.removeprefix("e_")
    if field not in catalog_edit.FIELDS:
        await callback.answer(gettext("This button is out of date."))
        return
    manager.dialog_data.update(mode="edit", field=field)
    await manager.switch_to(CatalogSG.value)


async def _set_archived(callback: CallbackQuery, manager: DialogManager, *, archived: bool) -> None:
    app = _app(manager)
    change = catalog_edit.archive if archived else catalog_edit.restore
    try:
        async with app.db() as session:
            await change(
                session, actor=_actor(manager), measure_id=int(manager.dialog_data.get("measure_id", 0)), now=app.now()
            )
    except catalog_edit.Refused:
        await _refused(callback)
        return
    manager.dialog_data["saved"] = False
    await callback.answer(
        gettext("Archived: people no longer see it.") if archived else gettext("Restored: people see it again.")
    )


async def on_archive(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    await _set_archived(callback, manager, archived=True)


async def on_restore(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    await _set_archived(callback, manager, archived=False)


async def on_tell(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    """Opens the broadcast composer with the entry's summary, for those subscribed to its category."""
    view = await _view(manager)
    if view is None:
        await _refused(callback)
        return
    data = {
        "text": summary(view, locale_of(manager)),
        "audience": {"categories": [view.category], "regions": [view.region_code]},
    }
    try:
        await manager.start(BroadcastSG.content, data=data)
    except DialogsError:  # the composer is not part of this build
        await callback.answer(gettext("Broadcasts are not available yet."), show_alert=True)


# ------------------------------------------------------------------ typing a value


def _mode(manager: DialogManager) -> str:
    return str(manager.dialog_data.get("mode", "edit"))


def _field(manager: DialogManager) -> str:
    field = str(manager.dialog_data.get("field", ""))
    return field if field in catalog_edit.FIELDS else catalog_edit.FIELDS[0]


async def value_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    field, new = _field(dialog_manager), _mode(dialog_manager) == "new"
    optional = field in catalog_edit.OPTIONAL
    current = ""
    if not new:
        view = await _view(dialog_manager)
        if view is not None:
            value = view.text(field, locale_of(dialog_manager)) if field != "valid_until" else view.valid_until
            current = "" if value is None else escape(value.strftime("%d.%m.%Y") if isinstance(value, date) else value)
    return {
        "prompt": gettext(PROMPTS[field]),
        "step": catalog_edit.FIELDS.index(field) + 1,
        "steps": len(catalog_edit.FIELDS),
        "new": new,
        "current": current,
        "has_current": bool(current),
        "can_clear": optional and not new,
        "can_skip": optional and new,
    }


async def _next(manager: DialogManager) -> None:
    """The next question of a new entry, or the check when all are answered."""
    index = catalog_edit.FIELDS.index(_field(manager)) + 1
    if index < len(catalog_edit.FIELDS):
        manager.dialog_data["field"] = catalog_edit.FIELDS[index]
        await manager.switch_to(CatalogSG.value)
    else:
        await manager.switch_to(CatalogSG.confirm)


async def _save(manager: DialogManager, value: str | None) -> str | None:
    """Applies one typed value (or ``None``: clear or skip); returns what to tell staff if it failed."""
    app, field = _app(manager), _field(manager)
    today = await _today(manager)
    if _mode(manager) == "new":
        try:
            cleaned = catalog_edit.clean(field, value, today=today)
        except catalog_edit.Invalid as exc:
            return invalid_text(exc)
        draft = dict(manager.dialog_data.get("draft") or {})
        if isinstance(cleaned, date):
            cleaned = cleaned.isoformat()
        draft[field] = value if isinstance(cleaned, dict) else cleaned  # texts as typed: one language
        manager.dialog_data["draft"] = draft
        await _next(manager)
        return None
    try:
        async with app.db() as session:
            await catalog_edit.edit(
                session,
                actor=_actor(manager),
                measure_id=int(manager.dialog_data.get("measure_id", 0)),
                today=today,
                now=app.now(),
                **{field: value},
            )
    except catalog_edit.Refused:
        await manager.done()
        return gettext("This entry is not available to you.")
    except catalog_edit.Invalid as exc:
        return invalid_text(exc)
    manager.dialog_data["saved"] = True
    await manager.switch_to(CatalogSG.entry)
    return None


async def on_value(message: Message, _widget: MessageInput, manager: DialogManager) -> None:
    manager.show_mode = ShowMode.SEND
    problem = await _save(manager, message.text or "")
    if problem:
        await message.answer(problem)
    elif _mode(manager) == "edit":
        await message.answer(gettext("Saved."))


async def on_clear(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    problem = await _save(manager, None)
    if problem:
        await callback.answer(problem, show_alert=True)
    else:
        await callback.answer(gettext("Cleared.") if _mode(manager) == "edit" else None)


async def on_value_back(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    if _mode(manager) == "new":
        manager.dialog_data.pop("draft", None)
        await manager.switch_to(CatalogSG.entries)
    else:
        await manager.switch_to(CatalogSG.entry)


# ------------------------------------------------------------------ a new entry: check and save


async def confirm_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    draft = dialog_manager.dialog_data.get("draft") or {}
    locale = locale_of(dialog_manager)
    preview = render_contact(
        Contact(
            key="",
            region_code=dialog_manager.dialog_data.get("region", ""),
            category=dialog_manager.dialog_data.get("category"),
            title=draft.get("title") or "",
            description=draft.get("description") or "",
            address=draft.get("address"),
            phone=draft.get("phone"),
            url=draft.get("url"),
        )
    )
    if draft.get("valid_until"):
        from bot.services.formatting import format_date

        preview += "\n" + gettext("⏳ Valid until {day}").format(
            day=format_date(date.fromisoformat(draft["valid_until"]), locale)
        )
    return {
        "preview": preview,
        "region_name": await _region_name(dialog_manager),
        "category_name": category_name(dialog_manager.dialog_data.get("category")),
    }


async def on_create(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    app, data = _app(manager), manager.dialog_data
    draft = dict(data.get("draft") or {})
    try:
        async with app.db() as session:
            view = await catalog_edit.create(
                session,
                actor=_actor(manager),
                region_code=data.get("region", ""),
                category=data.get("category", ""),
                title=draft.get("title") or "",
                description=draft.get("description") or "",
                address=draft.get("address"),
                phone=draft.get("phone"),
                url=draft.get("url"),
                valid_until=draft.get("valid_until"),
                today=await _today(manager),
                now=app.now(),
            )
    except catalog_edit.Refused:
        await _refused(callback)
        await manager.done()
        return
    except catalog_edit.Invalid as exc:
        await callback.answer(invalid_text(exc), show_alert=True)
        return
    data.pop("draft", None)
    data.update(measure_id=view.id, saved=True, mode="edit")
    await callback.answer(gettext("Saved. People of the region see it now."))
    await manager.switch_to(CatalogSG.entry)


# ------------------------------------------------------------------ the dialog


def dialog() -> Dialog:
    """Built anew for every dispatcher: a Dialog is a router and joins one parent only."""
    close = Cancel(Tr("✖️ Close"))
    to_entries = SwitchTo(Tr("◀ Back"), id="to_list", state=CatalogSG.entries)
    return Dialog(
        Window(
            Tr("<b>📚 Support catalog</b>\n\nWhich region's entries?"),
            choices("creg", "regions", on_region),
            close,
            crisis_button(),
            getter=regions_getter,
            state=CatalogSG.region,
        ),
        Window(
            Tr("<b>📚 Support catalog</b> · {region_name}\n\nWhich need?"),
            choices("ccat", "categories", on_category),
            Row(
                SwitchTo(Tr("◀ Regions"), id="to_regions", state=CatalogSG.region, when=F["is_admin"]),
                close,
            ),
            crisis_button(),
            getter=categories_getter,
            state=CatalogSG.category,
        ),
        Window(
            Format("<b>{category_name}</b> · {region_name}", when=F["ok"]),
            Tr("Tap an entry to change it, or add a new one. 🗄 archived, ⌛ expired.", when=~F["empty"] & F["ok"]),
            Tr("Nothing here yet: add the first entry.", when=F["empty"]),
            Tr("This region is not available to you.", when=F["gone"]),
            choices("ent", "entries", on_entry, page=8),
            Button(Tr("➕ Add"), id="add", on_click=on_add, when=F["ok"]),
            Row(SwitchTo(Tr("◀ Back"), id="to_cats", state=CatalogSG.category), close),
            crisis_button(),
            getter=entries_getter,
            state=CatalogSG.entries,
        ),
        Window(
            Tr("This entry is not available to you.", when=F["gone"]),
            Multi(Format("<i>{head}</i>"), Format("{card}"), sep="\n\n", when=F["ok"]),
            Row(
                Button(Tr("✏️ Title"), id="e_title", on_click=on_edit_field),
                Button(Tr("✏️ Description"), id="e_description", on_click=on_edit_field),
                when=F["live"],
            ),
            Row(
                Button(Tr("✏️ Address"), id="e_address", on_click=on_edit_field),
                Button(Tr("✏️ Phone"), id="e_phone", on_click=on_edit_field),
                when=F["live"],
            ),
            Row(
                Button(Tr("✏️ Link"), id="e_url", on_click=on_edit_field),
                Button(Tr("✏️ Valid until"), id="e_valid_until", on_click=on_edit_field),
                when=F["live"],
            ),
            Button(Tr("📣 Tell those subscribed to this category"), id="tell", on_click=on_tell, when=F["saved"]),
            Button(Tr("🗄 Archive"), id="archive", on_click=on_archive, when=F["live"]),
            Button(Tr("↩️ Restore"), id="restore", on_click=on_restore, when=F["archived"]),
            Row(to_entries, close),
            crisis_button(),
            getter=entry_getter,
            state=CatalogSG.entry,
        ),
        Window(
            Tr("<b>New entry</b> · step {step} of {steps}", when=F["new"]),
            Format("{prompt}"),
            Tr("Now: {current}", when=F["has_current"]),
            MessageInput(on_value, content_types=[ContentType.TEXT]),
            MessageInput(on_not_text),
            Button(Tr("🧹 Clear"), id="clear", on_click=on_clear, when=F["can_clear"]),
            Button(Tr("Skip"), id="skip", on_click=on_clear, when=F["can_skip"]),
            Button(Tr("◀ Back"), id="value_back", on_click=on_value_back),
            crisis_button(),
            getter=value_getter,
            state=CatalogSG.value,
        ),
        Window(
            Tr("<b>Check, please</b> · {category_name} · {region_name}"),
            Format("{preview}"),
            Button(Tr("✅ Save"), id="save", on_click=on_create),
            Row(to_entries, close),
            crisis_button(),
            getter=confirm_getter,
            state=CatalogSG.confirm,
        ),
        on_start=on_start,
    )

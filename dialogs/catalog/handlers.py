"""The catalog editor: what its buttons and messages do.

Buttons carry ids and codes only (a region code, a category code, an entry id); every press goes
back to ``bot.services.catalog_edit``, which checks the actor and the entry again, so a forged or
stale button is refused (and audited when it points at another region's entry).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext
from aiogram_dialog import DialogManager, ShowMode, StartMode
from aiogram_dialog.api.exceptions import DialogsError
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import AppContext
from bot.services import catalog, catalog_edit, parse
from bot.services.users import Profile
from db.models import Role
from dialogs.catalog.getters import actor_of, entry_view, field_of, mode_of, region_today
from dialogs.catalog.text import history_text, invalid_text, summary
from dialogs.common.getters import locale_of, reading
from dialogs.common.scope import scope
from dialogs.states import BroadcastSG, CatalogSG


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


async def on_region(callback: CallbackQuery, _widget: Any, manager: DialogManager, code: str) -> None:
    async with reading(manager) as session:
        found = await catalog_edit.editable_regions(session, actor=actor_of(manager))
    if code not in {r.code for r in found}:
        await callback.answer(gettext("This button is out of date."))
        return
    manager.dialog_data["region"] = code
    await manager.switch_to(CatalogSG.category)


async def on_category(callback: CallbackQuery, _widget: Any, manager: DialogManager, code: str) -> None:
    if code not in catalog.CATEGORIES:
        await callback.answer(gettext("This button is out of date."))
        return
    manager.dialog_data["category"] = code
    await manager.switch_to(CatalogSG.entries)


async def on_entry(callback: CallbackQuery, _widget: Any, manager: DialogManager, item_id: str) -> None:
    if not parse.digits(item_id):
        await callback.answer(gettext("This button is out of date."))
        return
    try:
        async with reading(manager) as session:
            view = await catalog_edit.get(
                session, actor=actor_of(manager), measure_id=int(item_id), now=scope(manager).app.now()
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


async def on_edit_field(callback: CallbackQuery, button: Button, manager: DialogManager) -> None:
    assert button.widget_id is not None  # the edit buttons all have ids
    field = button.widget_id.removeprefix("e_")
    if field not in catalog_edit.FIELDS:
        await callback.answer(gettext("This button is out of date."))
        return
    manager.dialog_data.update(mode="edit", field=field)
    await manager.switch_to(CatalogSG.value)


async def _set_archived(callback: CallbackQuery, manager: DialogManager, *, archived: bool) -> None:
    s = scope(manager)
    app = s.app
    change = catalog_edit.archive if archived else catalog_edit.restore
    try:
        async with s.transaction() as session:
            await change(
                session,
                actor=actor_of(manager),
                measure_id=int(manager.dialog_data.get("measure_id", 0)),
                now=app.now(),
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
    view = await entry_view(manager)
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


async def _next(manager: DialogManager) -> None:
    """The next question of a new entry, or the check when all are answered."""
    index = catalog_edit.FIELDS.index(field_of(manager)) + 1
    if index < len(catalog_edit.FIELDS):
        manager.dialog_data["field"] = catalog_edit.FIELDS[index]
        await manager.switch_to(CatalogSG.value)
    else:
        await manager.switch_to(CatalogSG.confirm)


async def _save(manager: DialogManager, value: str | None) -> str | None:
    """Applies one typed value (or ``None``: clear or skip); returns what to tell staff if it failed."""
    s = scope(manager)
    app, field = s.app, field_of(manager)
    today = await region_today(manager)
    if mode_of(manager) == "new":
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
        async with s.transaction() as session:
            await catalog_edit.edit(
                session,
                actor=actor_of(manager),
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
    elif mode_of(manager) == "edit":
        await message.answer(gettext("Saved."))


async def on_clear(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    problem = await _save(manager, None)
    if problem:
        await callback.answer(problem, show_alert=True)
    else:
        await callback.answer(gettext("Cleared.") if mode_of(manager) == "edit" else None)


async def on_value_back(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    if mode_of(manager) == "new":
        manager.dialog_data.pop("draft", None)
        await manager.switch_to(CatalogSG.entries)
    else:
        await manager.switch_to(CatalogSG.entry)


async def on_create(callback: CallbackQuery, _button: Button, manager: DialogManager) -> None:
    s = scope(manager)
    app, data = s.app, manager.dialog_data
    draft = dict(data.get("draft") or {})
    today = await region_today(manager)
    try:
        async with s.transaction() as session:
            view = await catalog_edit.create(
                session,
                actor=actor_of(manager),
                region_code=data.get("region", ""),
                category=data.get("category", ""),
                title=draft.get("title") or "",
                description=draft.get("description") or "",
                address=draft.get("address"),
                phone=draft.get("phone"),
                url=draft.get("url"),
                valid_until=draft.get("valid_until"),
                today=today,
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

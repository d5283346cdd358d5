"""What is stored, who sees it, and deleting it."""

from __future__ import annotations

from typing import Any

from aiogram.types import CallbackQuery, ReplyKeyboardRemove
from aiogram.utils.i18n import gettext
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.kbd import Button, Row, SwitchTo

from bot.services import programme, surveys, users
from bot.services.formatting import format_date
from db.fsm_storage import forget_dialogs
from dialogs.common.getters import locale_of, reading, user_id_of
from dialogs.common.scope import scope
from dialogs.common.widgets import Tr, crisis_button, menu_button
from dialogs.states import PrivacySG


async def privacy_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    app = scope(dialog_manager).app
    async with reading(dialog_manager) as session:
        profile = await users.get_profile(session, user_id_of(dialog_manager))
    first_seen = profile.first_seen if profile else app.now()
    timezone = (profile.timezone if profile else None) or app.settings.default_timezone
    return {
        "first_seen": format_date(first_seen, locale_of(dialog_manager), timezone),
        "days": app.settings.history_retention_days,
    }


async def on_delete(callback: CallbackQuery, _widget: Any, manager: DialogManager) -> None:
    s = scope(manager)
    app = s.app
    # Close the dialogs first, so nothing of this conversation is written back after the deletion.
    await manager.reset_stack(remove_keyboard=False)
    user_id = callback.from_user.id
    async with s.transaction() as session:
        await programme.leave_all(session, user_id=user_id, now=app.now())  # notices the team in it
        await s.relay.forget(user_id)
        await surveys.forget(session, user_id=user_id)
        await session.commit()
        await users.forget(session, user_id, now=app.now())
    storage = s.fsm_storage
    trail = s.trail

    async def forget_dialogs_and_trail() -> None:
        # After aiogram_dialog has saved its (reset) stack: nothing of her dialogs stays behind,
        # nor the ids of her recent messages (those of this very update included).
        await forget_dialogs(storage, user_id)
        await trail.forget(user_id)

    s.after_update.append(forget_dialogs_and_trail)
    await callback.answer()
    if callback.message is not None:
        await callback.message.answer(
            gettext(
                "Done: everything we kept about you is deleted. "
                "If you write to the bot again, it will start from the beginning, as with a new person."
            ),
            reply_markup=ReplyKeyboardRemove(),
        )


def dialog() -> Dialog:
    """Built anew for every dispatcher: a Dialog is a router and joins one parent only."""
    return Dialog(
        Window(
            Tr(
                "<b>🔒 What we keep about you</b>\n\n"
                "• Your Telegram account number (not your phone number), so the bot can answer you.\n"
                "• The language and region you chose.\n"
                "• The day you first wrote to the bot: {first_seen}.\n"
                "• Where you are in the bot's menus, so nothing is lost if the bot restarts. "
                "This is stored encrypted.\n"
                "• What you write to a person and their answers, encrypted. They are deleted {days} days "
                "after your programme or your conversation ends.\n"
                "• A record of important actions, such as deleting your data, without the content of messages.\n"
                "• If you take part in a programme: your first name as the team wrote it, your decisions "
                "and your questions.\n\n"
                "<b>Who reads your messages:</b> the team of your region: the family curators and the "
                "programme staff. Not the other participants and not your family.\n"
                "<b>Who sees the rest:</b> only the programme team, and only what they need for their work. "
                "Each time someone from the team opens a person's data, it is recorded.\n\n"
                "<b>What we do not keep:</b> your phone number, your surname, your name in Telegram. "
                "We never ask about your offence or your sentence.\n\n"
                "You can delete everything at any time with the button below."
            ),
            Tr(
                "\n🧹 If someone else may see your phone: «🧹 Hide the chat» in the menu, or /hide, deletes this "
                "chat (the last 48 hours, as Telegram allows) and leaves one neutral message."
            ),
            SwitchTo(Tr("🗑 Delete my data"), id="delete", state=PrivacySG.confirm_delete),
            menu_button(),
            crisis_button(),
            getter=privacy_getter,
            state=PrivacySG.main,
        ),
        Window(
            Tr(
                "Delete everything we keep about you? The bot will forget your language, region and "
                "settings. If you take part in a programme, this also withdraws your consent, and your "
                "curator and facilitator are told. This cannot be undone."
            ),
            Row(
                Button(Tr("Yes, delete"), id="yes", on_click=on_delete),
                SwitchTo(Tr("No, keep it"), id="no", state=PrivacySG.main),
            ),
            crisis_button(),
            state=PrivacySG.confirm_delete,
        ),
    )

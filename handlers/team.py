"""The programme team (curators, facilitators, staff, admins): cases, what is late, open questions."""

from __future__ import annotations

from html import escape

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import I18n, gettext
from aiogram_dialog import DialogManager, ShowMode, StartMode
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import AppContext
from bot.jobs.digests import render_overdue
from bot.services import cases, parse, programme, users
from bot.services.formatting import format_datetime
from bot.services.users import TEAM_ROLES, Profile
from dialogs.states import CaseSG, CasesSG
from handlers.common import ended
from handlers.filters import HasRole

TEAM_COMMANDS = ("cases", "case", "overdue", "questions", "answered", "myname")
QUESTION_PREVIEW = 600


async def myname(
    message: Message, command: CommandObject, session: AsyncSession, profile: Profile, app: AppContext
) -> None:
    """A team member edits the first name participants see for her."""
    try:
        clean = await users.set_display_name(
            session, actor=profile, target_id=profile.user_id, name=command.args or "", now=app.now()
        )
    except (users.BadName, users.NotAllowed):
        await message.answer(gettext("Usage: /myname FirstName (letters, up to 40 characters)"))
        return
    await message.answer(gettext("Done: participants now see you as {name}.").format(name=escape(clean)))


async def list_cases(message: Message, dialog_manager: DialogManager) -> None:
    await dialog_manager.start(CasesSG.list, mode=StartMode.RESET_STACK, show_mode=ShowMode.SEND)


async def one_case(
    message: Message,
    command: CommandObject,
    profile: Profile,
    dialog_manager: DialogManager,
    session: AsyncSession,
    app: AppContext,
) -> None:
    code = parse.case_code(command.args)
    if code is None:
        await message.answer(gettext("Usage: /case CODE (the code is on the case card, like K7QM3XPA)."))
        return
    try:
        async with ended(session):
            case_id = await cases.find_code(session, actor=profile, code=code, now=app.now())
    except cases.Refused:
        await message.answer(gettext("No case with this code is available to you."))
        return
    await dialog_manager.start(
        CaseSG.card, data={"case_id": case_id}, mode=StartMode.RESET_STACK, show_mode=ShowMode.SEND
    )


async def overdue(message: Message, app: AppContext, profile: Profile, i18n: I18n, session: AsyncSession) -> None:
    async with ended(session):
        lines = await cases.list_cases(session, actor=profile, rules=app.rules, now=app.now(), only_overdue=True)
    await message.answer(render_overdue(lines, i18n.current_locale))


async def questions(message: Message, app: AppContext, profile: Profile, i18n: I18n, session: AsyncSession) -> None:
    async with ended(session):
        found = await programme.open_questions(session, actor=profile, now=app.now())
    if not found:
        await message.answer(gettext("No open questions."))
        return
    zone = app.settings.default_timezone
    await message.answer(gettext("<b>Questions before deciding: {count}</b>").format(count=len(found)))
    for question in found:
        text = question.text
        if len(text) > QUESTION_PREVIEW:
            text = text[:QUESTION_PREVIEW] + "…"
        await message.answer(
            gettext("#{id} · case {code} · {name} · {when}\n\n{text}\n\nWhen it is answered: /answered {id}").format(
                id=question.id,
                code=question.case_code,
                name=escape(question.first_name),
                when=format_datetime(question.asked_at, i18n.current_locale, zone, fmt="short"),
                text=escape(text),
            )
        )


async def answered(
    message: Message, command: CommandObject, app: AppContext, profile: Profile, session: AsyncSession
) -> None:
    question_id = parse.command_id(command.args)
    if question_id is None:
        await message.answer(gettext("Usage: /answered NUMBER (the number of the question)."))
        return
    try:
        async with ended(session):
            await programme.answer_question(session, actor=profile, question_id=question_id, now=app.now())
    except programme.Refused:
        await message.answer(gettext("No question with this number is available to you."))
        return
    await message.answer(gettext("Marked as answered."))


def team_router() -> Router:
    router = Router(name="team")
    router.message.filter(HasRole(*TEAM_ROLES))
    router.message.register(myname, Command("myname"))
    router.message.register(list_cases, Command("cases"))
    router.message.register(one_case, Command("case"))
    router.message.register(overdue, Command("overdue"))
    router.message.register(questions, Command("questions"))
    router.message.register(answered, Command("answered"))
    return router

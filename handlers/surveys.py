"""Feedback surveys: the first question goes out as a reminder (kind ``survey``); then one question
per message, answered with buttons (1-5, a choice, Skip) or, for free text, her next message.
Staff and admins read the anonymous aggregates with ``/survey_report``.

Everything a survey needs to continue lives in the database (``survey_invites``), so a button on a
question sent before a restart still works. A button of an answered question, a forged one, or
one of an expired survey gets a short kind answer and nothing is stored.
"""

from __future__ import annotations

import logging
from html import escape
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject, Filter
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n, gettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import AppContext
from bot.jobs.buttons import SurveyButton
from bot.jobs.renderers.surveys import SKIP, question_keyboard, question_text, thanks_text
from bot.services import parse, surveys
from bot.services.surveys import Current, Report
from bot.services.users import Profile
from db.models import Role
from handlers.common import ended, refuse_button
from handlers.filters import HasRole, Quick

log = logging.getLogger(__name__)
SURVEY_COMMANDS = ("survey_report",)
MESSAGE_LIMIT = 4000  # Telegram's 4096, with room to spare


def render_report(report: Report, locale: str) -> str:
    """The aggregates as one message, under Telegram's 4096 characters."""
    where = report.region or gettext("all regions")
    lines = [
        gettext("<b>Feedback surveys</b> · {where}").format(where=escape(where)),
        gettext("Answers are anonymous. A question is shown once it has at least {n} answers.").format(
            n=report.min_answers
        ),
    ]
    hidden = gettext("fewer than {n} answers").format(n=report.min_answers)
    for stats in report.surveys:
        lines.append("")
        lines.append("<b>" + escape(surveys.text_of(stats.survey.title, locale)) + "</b>")
        if not any(q.shown for q in stats.questions):
            lines.append("• " + hidden)
            continue
        for q in stats.questions:
            label = escape(surveys.text_of(q.question.text, locale).split("\n", 1)[0][:70])
            if not q.shown:
                lines.append(f"• {label}: {hidden}")
            elif q.question.kind == "scale":
                spread = " ".join(f"{s}:{c}" for s, c in q.distribution.items())
                lines.append(
                    gettext("• {question}: {mean} of 5, {count} answers ({spread})").format(
                        question=label,
                        mean=f"{q.mean:.1f}" if q.mean is not None else "–",
                        count=q.count,
                        spread=spread,
                    )
                )
            elif q.question.kind == "choice":
                names = {o.key: surveys.text_of(o.text, locale) for o in q.question.options}
                spread = ", ".join(f"{escape(names[k])} {c}" for k, c in q.choices.items())
                lines.append(
                    gettext("• {question}: {count} answers: {spread}").format(
                        question=label, count=q.count, spread=spread
                    )
                )
            else:
                lines.append(
                    gettext("• {question}: {count} written answers (not shown)").format(question=label, count=q.count)
                )
    text = "\n".join(lines)
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1] + "…"


# ------------------------------------------------------------------ answering


class AnsweringInWords(Filter):
    """Her survey's current question takes free text, and this is text she typed (not a command,
    not crisis words: those go to their own handlers, and the question keeps waiting)."""

    async def __call__(
        self, message: Message, app: AppContext, session: AsyncSession, profile: Profile | None = None, **_: Any
    ) -> bool | dict[str, Any]:
        text = message.text or ""
        if profile is None or not text.strip() or text.startswith("/") or app.crisis.detect(text):
            return False
        async with ended(session):
            current = await surveys.current(session, user_id=message.chat.id, now=app.now())
        if current is None or current.question.kind != "text":
            return False
        return {"survey_question": current}


async def _remove_buttons(bot: Bot, message: Any) -> None:
    if message is None or not isinstance(message, Message):
        return  # too old to be edited (InaccessibleMessage)
    try:
        await bot.edit_message_reply_markup(chat_id=message.chat.id, message_id=message.message_id, reply_markup=None)
    except TelegramBadRequest:
        pass  # already without buttons


async def _continue(bot: Bot, chat_id: int, step: surveys.Step, locale: str) -> None:
    if step.next is None:
        await bot.send_message(chat_id, thanks_text())
    else:
        await bot.send_message(
            chat_id, question_text(step.next, locale, first=False), reply_markup=question_keyboard(step.next, locale)
        )


async def pressed(
    callback: CallbackQuery,
    callback_data: SurveyButton,
    app: AppContext,
    bot: Bot,
    i18n: I18n,
    session: AsyncSession,
) -> None:
    if not (0 < callback_data.invite <= parse.INT64_MAX and 0 <= callback_data.q < 1000):
        await refuse_button(callback, session, "survey", now=app.now())  # forged: an id no column can hold
        return
    try:
        step = await _store(callback, callback_data, app, session)
    except surveys.Closed:
        await callback.answer(gettext("This survey has closed, thank you anyway."))
        await _remove_buttons(bot, callback.message)
        return
    except (surveys.Stale, surveys.Invalid):
        await callback.answer(gettext("This question has already been answered. Thank you!"))
        return
    await callback.answer(gettext("Thank you!") if callback_data.value != SKIP else None)
    await _remove_buttons(bot, callback.message)
    await _continue(bot, callback.from_user.id, step, i18n.current_locale)


async def _store(
    callback: CallbackQuery, callback_data: SurveyButton, app: AppContext, session: AsyncSession
) -> surveys.Step:
    """The pressed button's answer, or its Skip."""
    if callback_data.value == SKIP:
        return await surveys.skip(
            session,
            invite_id=callback_data.invite,
            user_id=callback.from_user.id,
            question_index=callback_data.q,
            now=app.now(),
        )
    return await surveys.answer(
        session,
        invite_id=callback_data.invite,
        user_id=callback.from_user.id,
        question_index=callback_data.q,
        value=callback_data.value,
        now=app.now(),
    )


async def broken(callback: CallbackQuery) -> None:
    """Survey-looking data that does not parse: forged or from another version."""
    await callback.answer(gettext("This question has already been answered. Thank you!"))


async def in_words(
    message: Message,
    survey_question: Current,
    app: AppContext,
    bot: Bot,
    i18n: I18n,
    session: AsyncSession,
) -> None:
    try:
        step = await surveys.answer(
            session,
            invite_id=survey_question.invite_id,
            user_id=message.chat.id,
            question_index=survey_question.index,
            value=message.text,
            now=app.now(),
        )
    except surveys.Closed:
        await message.answer(gettext("This survey has closed, thank you anyway."))
        return
    except (surveys.Stale, surveys.Invalid):
        await message.answer(gettext("This question has already been answered. Thank you!"))
        return
    await _continue(bot, message.chat.id, step, i18n.current_locale)


def _answers_router() -> Router:
    router = Router(name="surveys")
    router.callback_query.register(pressed, SurveyButton.filter())
    router.callback_query.register(broken, Quick(F.data.startswith("sv:")))
    router.message.register(in_words, Quick(F.chat.type == "private"), Quick(F.text), AnsweringInWords())
    return router


async def survey_report(
    message: Message, command: CommandObject, app: AppContext, i18n: I18n, session: AsyncSession, profile: Profile
) -> None:
    region = None
    if (command.args or "").strip():
        region = parse.region_code(command.args)
        if region is None:
            await message.answer(gettext("Usage: /survey_report [REGION], like altai_krai."))
            return
    report = await surveys.report(session, actor=profile, region=region, now=app.now())
    await message.answer(render_report(report, i18n.current_locale))


def _report_router() -> Router:
    router = Router(name="surveys_staff")
    router.message.filter(HasRole(Role.STAFF, Role.ADMIN))
    router.message.register(survey_report, Command(*SURVEY_COMMANDS))
    return router


def surveys_router() -> Router:
    """Answers (everyone with a survey) and the report (staff, admins)."""
    router = Router(name="surveys_root")
    router.include_routers(_answers_router(), _report_router())
    return router

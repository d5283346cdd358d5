"""A feedback survey's questions as messages: the first goes out as a reminder (kind ``survey``),
the next ones as answers to her taps (``handlers/surveys.py``)."""

from __future__ import annotations

from html import escape

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n, gettext
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import AppContext
from bot.jobs.buttons import SurveyButton
from bot.jobs.outgoing import Drop, Outgoing
from bot.services import surveys
from bot.services.surveys import Current

REMINDER_KIND = surveys.REMINDER_KIND
SKIP = "-"
SCALE_LABELS = {1: "1 😞", 2: "2 🙁", 3: "3 😐", 4: "4 🙂", 5: "5 😊"}


def question_text(current: Current, locale: str, *, first: bool) -> str:
    """HTML: (the title and intro, for the first message) "Question i of n" and the question."""
    parts = []
    if first:
        parts.append("<b>" + escape(surveys.text_of(current.survey.title, locale)) + "</b>")
        parts.append(escape(surveys.text_of(current.survey.intro, locale)))
    head = gettext("Question {number} of {total}").format(number=current.index + 1, total=current.total)
    body = "<i>" + head + "</i>\n" + escape(surveys.text_of(current.question.text, locale))
    if current.question.kind == "text":
        body += "\n\n" + gettext("Write your answer in a message, or tap Skip.")
    parts.append(body)
    return "\n\n".join(parts)


def question_keyboard(current: Current, locale: str) -> InlineKeyboardMarkup:
    def button(text: str, value: str) -> InlineKeyboardButton:
        data = SurveyButton(invite=current.invite_id, q=current.index, value=value).pack()
        return InlineKeyboardButton(text=text, callback_data=data)

    rows: list[list[InlineKeyboardButton]] = []
    question = current.question
    if question.kind == "scale":
        rows.append([button(label, str(score)) for score, label in SCALE_LABELS.items()])
    elif question.kind == "choice":
        rows.extend([button(surveys.text_of(option.text, locale), option.key)] for option in question.options)
    rows.append([button(gettext("Skip ➡️"), SKIP)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def thanks_text() -> str:
    return gettext(
        "Thank you for your answers! 🌱 They help us make the programme better for other families. "
        "No one on the team sees who answered what."
    )


def reminder_renderer(app: AppContext, i18n: I18n):
    """Words the survey's intro and its current question in her language when the reminder goes
    out; a survey that is done, expired or gone makes the reminder drop."""

    async def render(session: AsyncSession, claimed, locale: str) -> Outgoing | Drop:
        invite_id = (claimed.payload or {}).get("invite")
        if not isinstance(invite_id, int):
            return Drop("bad_payload")
        current = await surveys.deliver(session, invite_id=invite_id, now=app.now())
        if current is None:
            return Drop("survey_closed")
        with i18n.use_locale(locale):
            return Outgoing(question_text(current, locale, first=True), question_keyboard(current, locale))

    return render

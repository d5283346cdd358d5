"""The yardstick of ``bench.throughput``: a bare aiogram bot that shows the same screens.

No database, no dialogs, no middlewares: a message (/start, "☰ Menu") gets the menu as a new
message, a button press is answered and the message edited to the next screen, as the real bot
does. What the real bot costs beyond this is the application's own cost.

    BOT_TOKEN=… TELEGRAM_API_URL=… python -m bench.bare_bot
"""

from __future__ import annotations

import asyncio
import os

from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

MENU = "What would you like to do? Tap a button below."
# screen -> (text, [(button, next screen)])
SCREENS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "menu": (MENU, [("💬 What is the programme", "about"), ("🧭 Where to get help", "help")]),
    "about": ("What is a restorative programme", [("☰ Menu", "menu"), ("Next ▶", "rules1")]),
    "rules1": ("The rules of the programme (1 of 2): Only if you want it", [("◀ Back", "about"), ("Next ▶", "rules2")]),
    "rules2": ("The rules of the programme (2 of 2): Nobody takes sides", [("◀ Back", "rules1"), ("Next ▶", "steps")]),
    "steps": ("How it goes, step by step", [("◀ Back", "rules2"), ("Next ▶", "privacy")]),
    "privacy": ("Who will see what I write", [("◀ Back", "steps"), ("☰ Menu", "menu")]),
    "help": ("🧭 Where to get help. What do you need help with?", [("🏠 Housing", "housing"), ("☰ Menu", "menu")]),
    "housing": ("🏠 Housing · Altai Krai. Social hotel", [("◀ Back", "help"), ("☰ Menu", "menu")]),
}


def markup(screen: str) -> InlineKeyboardMarkup:
    _, buttons = SCREENS[screen]
    rows = [[InlineKeyboardButton(text=label, callback_data=target)] for label, target in buttons]
    rows.append([InlineKeyboardButton(text="🆘 Urgent help", callback_data="sos")])
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def on_message(message: Message) -> None:
    await message.answer(MENU, reply_markup=markup("menu"))


async def on_press(query: CallbackQuery) -> None:
    screen = query.data if query.data in SCREENS else "menu"
    await query.answer()
    assert isinstance(query.message, Message)
    await query.message.edit_text(SCREENS[screen][0], reply_markup=markup(screen))


async def main() -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"]))
    bot = Bot(os.environ["BOT_TOKEN"], session=session)
    dp = Dispatcher()
    dp.message.register(on_message, F.text)
    dp.callback_query.register(on_press)
    await dp.start_polling(bot, handle_signals=True)


if __name__ == "__main__":
    asyncio.run(main())

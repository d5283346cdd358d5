"""Keeps aiogram's parametrized ``Response[T]`` classes alive for the life of the process.

aiogram validates every Bot API answer with ``Response[method.__returning__]``. pydantic keeps
parametrized generic classes in a weak cache, so once the garbage collector has run nothing holds
them and the next call builds the class (and its validator) again: measured at 14 % of the bot's CPU
under load (issue 12). Parametrizing each once here and holding the classes makes pydantic's own
cache return them; nothing of aiogram or pydantic is patched.
"""

from __future__ import annotations

import inspect
from typing import Any

from aiogram import methods
from aiogram.client.session.base import Response
from aiogram.methods.base import TelegramMethod

_KEPT: list[Any] = []


def keep_alive() -> int:
    """Parametrizes ``Response`` for the return type of every Bot API method; returns how many."""
    if _KEPT:
        return len(_KEPT)
    seen: set[Any] = set()
    for _name, method in inspect.getmembers(methods, inspect.isclass):
        if not issubclass(method, TelegramMethod) or method is TelegramMethod:
            continue
        returning = getattr(method, "__returning__", None)
        if returning is None or returning in seen:
            continue
        seen.add(returning)
        _KEPT.append(Response[returning])  # type: ignore[valid-type]  # a runtime parametrization
    return len(_KEPT)

"""Role checks, applied to whole routers so no handler can forget them."""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.types import TelegramObject

from bot.services.users import Profile
from db.models import Role


class HasRole(Filter):
    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    async def __call__(self, event: TelegramObject, profile: Profile | None = None, **_: Any) -> bool:
        return profile is not None and profile.role in self.roles

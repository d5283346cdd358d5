"""Commands, the menu button, the bot's name and descriptions; getChat and chat actions."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .constants import (
    _COMMAND_RE,
    CHAT_ACTIONS,
)
from .records import (
    ChatEvent,
    Params,
    _as_str,
    api_method,
    bad_request,
)
from .updates import Updates

if TYPE_CHECKING:
    pass


class Chats(Updates):
    """Commands, the menu button, the bot's name and descriptions; getChat and chat actions."""

    # ------------------------------------------------------------- commands & menu

    @staticmethod
    def _scope_key(p: Params) -> tuple[str, str]:
        scope = p.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), _as_str(p, "language_code") or ""

    @api_method("setMyCommands")
    def _set_my_commands(self, p: Params) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise bad_request("too many commands")
        clean = []
        for cmd in commands:
            if not isinstance(cmd, dict):
                raise bad_request("can't parse BotCommand")
            name = str(cmd.get("command", "")).lstrip("/")
            desc = str(cmd.get("description", ""))
            if not _COMMAND_RE.match(name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(desc) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID" if desc else "command description is empty")
            clean.append({"command": name, "description": desc})
        self.commands[self._scope_key(p)] = clean
        return True

    @api_method("getMyCommands")
    def _get_my_commands(self, p: Params) -> list[dict[str, Any]]:
        return list(self.commands.get(self._scope_key(p), []))

    @api_method("deleteMyCommands")
    def _delete_my_commands(self, p: Params) -> bool:
        self.commands.pop(self._scope_key(p), None)
        return True

    @api_method("setChatMenuButton")
    def _set_chat_menu_button(self, p: Params) -> bool:
        button = p.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in ("default", "commands", "web_app"):
            raise bad_request("can't parse menu button JSON object")
        if p.get("chat_id") not in (None, ""):
            self._known_chat(p).menu_button = button
        else:
            self.default_menu_button = button
        return True

    @api_method("getChatMenuButton")
    def _get_chat_menu_button(self, p: Params) -> dict[str, Any]:
        if p.get("chat_id") not in (None, ""):
            return self._known_chat(p).menu_button or self.default_menu_button
        return self.default_menu_button

    def _bot_text_setter(kind: str, key: str, limit: int):  # type: ignore[misc]  # a factory run in the class body
        def setter(self: Chats, p: Params) -> bool:
            value = _as_str(p, key) or ""
            if len(value) > limit:
                raise bad_request(f"{key} is too long")
            self.bot_texts[(kind, _as_str(p, "language_code") or "")] = value
            return True

        def getter(self: Chats, p: Params) -> dict[str, Any]:
            lang = _as_str(p, "language_code") or ""
            value = self.bot_texts.get((kind, lang), self.bot_texts.get((kind, ""), ""))
            if kind == "name" and not value:
                value = self.bot_first_name
            return {key: value}

        return setter, getter

    _set_name, _get_name = _bot_text_setter("name", "name", 64)
    _set_name = api_method("setMyName")(_set_name)
    _get_name = api_method("getMyName")(_get_name)
    _set_desc, _get_desc = _bot_text_setter("description", "description", 512)
    _set_desc = api_method("setMyDescription")(_set_desc)
    _get_desc = api_method("getMyDescription")(_get_desc)
    _set_short, _get_short = _bot_text_setter("short_description", "short_description", 120)
    _set_short = api_method("setMyShortDescription")(_set_short)
    _get_short = api_method("getMyShortDescription")(_get_short)
    del _bot_text_setter

    # ------------------------------------------------------------- chats

    @api_method("getChat")
    def _get_chat(self, p: Params) -> dict[str, Any]:
        chat = self._known_chat(p)
        info = chat.chat_object()
        info.update(
            {
                "accent_color_id": chat.id % 7,
                "max_reaction_count": 11,
                "accepted_gift_types": {
                    "unlimited_gifts": True,
                    "limited_gifts": True,
                    "unique_gifts": True,
                    "premium_subscription": True,
                    "gifts_from_channels": True,
                },
            }
        )
        return info

    @api_method("sendChatAction")
    def _send_chat_action(self, p: Params) -> bool:
        chat = self._chat_for_send(p)
        self._thread_for_send(chat, p)
        action = _as_str(p, "action")
        if action not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        chat.add_event(ChatEvent("chat_action", params={"action": action}))
        return True

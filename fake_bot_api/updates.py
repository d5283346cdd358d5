"""getMe, logOut, close; getUpdates (long polling) and webhooks."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import re
import time
from typing import TYPE_CHECKING, Any

import aiohttp

from .checks import Checks
from .constants import (
    _SECRET_RE,
    CONFLICT_OTHER_POLL,
    CONFLICT_WEBHOOK,
    DEFAULT_UPDATE_TYPES,
)
from .records import (
    OkResult,
    Params,
    TelegramError,
    _as_bool,
    _as_int,
    _as_str,
    _Poller,
    api_method,
    bad_request,
)

if TYPE_CHECKING:
    pass


class Updates(Checks):
    """getMe, logOut, close; getUpdates (long polling) and webhooks."""

    # ================================================================ API methods

    @api_method("getMe")
    def _get_me(self, p: Params) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    @api_method("logOut")
    def _log_out(self, p: Params) -> bool:
        return True

    @api_method("close")
    def _close(self, p: Params) -> bool:
        return True

    # ------------------------------------------------------------- updates

    def _update_type(self, update: dict[str, Any]) -> str:
        return next((k for k in update if k != "update_id"), "")

    def _is_allowed(self, update: dict[str, Any], allowed: list[str] | None) -> bool:
        kinds = set(allowed) if allowed else DEFAULT_UPDATE_TYPES
        return self._update_type(update) in kinds

    def _deliverable(self, limit: int) -> list[dict[str, Any]]:
        allowed = self._webhook.get("allowed_updates") if self._webhook else self._allowed_updates
        # Updates of types the bot did not subscribe to are never delivered: drop them.
        self._updates = [u for u in self._updates if self._is_allowed(u, allowed)]
        return [copy.deepcopy(u) for u in self._updates[:limit]]

    @api_method("getUpdates")
    async def _get_updates(self, p: Params) -> list[dict[str, Any]]:
        if self._webhook:
            raise TelegramError(409, CONFLICT_WEBHOOK)
        offset = _as_int(p, "offset", default=0) or 0
        limit = min(100, max(1, _as_int(p, "limit", default=100) or 100))
        timeout = max(0, _as_int(p, "timeout", default=0) or 0)
        allowed = p.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = [str(a) for a in allowed]
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]

        poller = _Poller()
        if self._poller is not None:
            self._poller.superseded = True
            self._poller.wake.set()
        self._poller = poller
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while True:
                if poller.superseded:
                    raise TelegramError(409, CONFLICT_OTHER_POLL)
                if self._webhook:
                    raise TelegramError(409, CONFLICT_WEBHOOK)
                batch = self._deliverable(limit)
                remaining = deadline - loop.time()
                if batch or remaining <= 0 or self._closing.is_set():
                    return batch
                poller.wake.clear()
                with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
                    await asyncio.wait_for(poller.wake.wait(), remaining)
        finally:
            if self._poller is poller:
                self._poller = None

    @api_method("setWebhook")
    async def _set_webhook(self, p: Params) -> OkResult:
        url = _as_str(p, "url") or ""
        if not url:
            await self._drop_webhook(_as_bool(p, "drop_pending_updates"))
            return OkResult(True, "Webhook was deleted")
        if not re.match(r"^https?://[^\s/]+", url):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = _as_str(p, "secret_token")
        if secret is not None and not _SECRET_RE.match(secret):
            raise bad_request("secret token contains unallowed characters")
        allowed = p.get("allowed_updates")
        if _as_bool(p, "drop_pending_updates"):
            self._updates.clear()
        if self._webhook and self._webhook["url"] == url and self._webhook.get("secret_token") == secret:
            if isinstance(allowed, list):
                self._webhook["allowed_updates"] = [str(a) for a in allowed]
            return OkResult(True, "Webhook is already set")
        await self._stop_webhook_task()
        self._webhook = {
            "url": url,
            "secret_token": secret,
            "max_connections": _as_int(p, "max_connections", default=40),
            "allowed_updates": [str(a) for a in allowed] if isinstance(allowed, list) else self._allowed_updates,
        }
        self._webhook_last_error = None
        if self._poller is not None:
            self._poller.wake.set()
        self._webhook_task = asyncio.get_running_loop().create_task(self._webhook_loop())
        return OkResult(True, "Webhook was set")

    @api_method("deleteWebhook")
    async def _delete_webhook(self, p: Params) -> OkResult:
        existed = self._webhook is not None
        await self._drop_webhook(_as_bool(p, "drop_pending_updates"))
        return OkResult(True, "Webhook was deleted" if existed else "Webhook is already deleted")

    async def _drop_webhook(self, drop_pending: bool) -> None:
        await self._stop_webhook_task()
        if self._webhook is not None:
            self._allowed_updates = self._webhook.get("allowed_updates")
        self._webhook = None
        if drop_pending:
            self._updates.clear()

    @api_method("getWebhookInfo")
    def _get_webhook_info(self, p: Params) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self._webhook["url"] if self._webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._webhook:
            info["ip_address"] = "127.0.0.1"
            info["max_connections"] = self._webhook["max_connections"]
            if self._webhook.get("allowed_updates"):
                info["allowed_updates"] = self._webhook["allowed_updates"]
            if self._webhook_last_error:
                info["last_error_date"], info["last_error_message"] = self._webhook_last_error
        return info

    async def _webhook_loop(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self.webhook_timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while self._webhook is not None and not self._closing.is_set():
                self._update_signal.clear()  # cleared before looking, so no push can be missed
                batch = self._deliverable(1)
                if not batch:
                    with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
                        await asyncio.wait_for(self._update_signal.wait(), 1.0)
                    continue
                update = batch[0]
                hook = self._webhook
                headers = {"Content-Type": "application/json"}
                if hook.get("secret_token"):
                    headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
                try:
                    async with session.post(
                        hook["url"], data=json.dumps(update, ensure_ascii=False), headers=headers
                    ) as resp:
                        if 200 <= resp.status < 300:
                            self._updates = [u for u in self._updates if u["update_id"] != update["update_id"]]
                            self.webhook_deliveries.append({"update_id": update["update_id"], "status": resp.status})
                            await self._webhook_reply(resp)
                            continue
                        error = f"Wrong response from the webhook: {resp.status} {resp.reason}"
                except asyncio.CancelledError:
                    raise
                except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                    error = f"Connection failed: {type(exc).__name__}: {exc}".strip()
                except Exception as exc:  # never let the loop die silently
                    self._internal_error("webhook delivery", exc)
                    error = f"{type(exc).__name__}: {exc}"
                self._webhook_last_error = (int(time.time()), error)
                self.webhook_deliveries.append({"update_id": update["update_id"], "error": error})
                with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), self.webhook_retry_delay)

    async def _webhook_reply(self, resp: aiohttp.ClientResponse) -> None:
        """Execute a method the bot returned in the webhook response body (if any)."""
        try:
            ctype = resp.content_type
            params: Params
            if ctype.startswith("multipart/"):
                params = await self._read_multipart(aiohttp.MultipartReader(resp.headers, resp.content))
            elif ctype == "application/json":
                raw = await resp.read()
                body = json.loads(raw) if raw.strip() else {}
                params = body if isinstance(body, dict) else {}
            else:
                await resp.read()
                return
            method = params.pop("method", None)
            if not method:
                return
            await self.call(str(method), self._decode_params(params))
        except Exception as exc:
            self._internal_error("webhook reply", exc)

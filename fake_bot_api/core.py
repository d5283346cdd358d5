"""The fake Bot API's core: its state, lifecycle, HTTP layer and dispatch."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import json
import math
import time
import traceback
from collections import deque
from collections.abc import Callable
from typing import Any, Self

import aiohttp
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiohttp import web

from .constants import (
    JSON_FIELDS,
    SENDING_METHODS,
)
from .group import FakeGroup
from .records import (
    ApiCall,
    CallbackQueryRecord,
    ChatEvent,
    ChatState,
    GroupState,
    OkResult,
    Params,
    StoredFile,
    TelegramError,
    UploadedFile,
    _Delay,
    _Fault,
    _jsonable,
    _Poller,
    bad_request,
    log,
)
from .user import FakeUser


class FakeCore:
    """The server's state, its HTTP layer and the dispatch of a call (faults, delays, limits)."""

    def __init__(
        self,
        token: str = "123456:TEST-token",
        bot_username: str = "vmeste_test_bot",
        bot_first_name: str = "Vmeste Test Bot",
        *,
        strict_html_entities: bool = True,
        callback_answer_timeout: float = 15.0,
        webhook_retry_delay: float = 0.2,
        webhook_timeout: float = 10.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.token = token
        try:
            self.bot_id = int(token.split(":", 1)[0])
        except ValueError:
            raise ValueError(f"token must look like '<bot id>:<secret>', got {token!r}") from None
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.strict_html_entities = strict_html_entities
        self.callback_answer_timeout = callback_answer_timeout
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_timeout = webhook_timeout
        self.host = host
        self.port = port

        self.calls: list[ApiCall] = []
        self.internal_errors: list[str] = []
        self.chats: dict[int, ChatState] = {}
        self.users: dict[int, FakeUser] = {}
        self.groups: dict[int, FakeGroup] = {}
        # Telegram: "your bot will not be able to send more than 20 messages per minute to the
        # same group" (core.telegram.org/bots/faq). Enforced per group over a sliding window of
        # ``group_window_seconds`` of real time; ``None`` disables it.
        self.group_limit_per_minute: int | None = 20
        self.group_window_seconds: float = 60.0
        self.files: dict[str, StoredFile] = {}
        self.callback_queries: dict[str, CallbackQueryRecord] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.default_menu_button: dict[str, Any] = {"type": "default"}
        self.bot_texts: dict[tuple[str, str], str] = {}  # (kind, language_code) -> name/description
        self.webhook_deliveries: list[dict[str, Any]] = []
        self.pushed: dict[int, dict[str, Any]] = {}  # every update ever queued, by update_id

        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1
        self._allowed_updates: list[str] | None = None
        self._update_signal = asyncio.Event()
        self._poller: _Poller | None = None
        self._webhook: dict[str, Any] | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_last_error: tuple[int, str] | None = None
        self._faults: list[_Fault] = []
        self._delays: list[_Delay] = []
        self.held = 0  # calls being held by a delay right now (``delay()``): a test waits for one to arrive
        self._rate: tuple[int | None, int | None] = (None, None)
        self._global_send_times: deque[float] = deque()
        self._user_ids = itertools.count(10_000_001)
        self._group_ids = itertools.count(-1_001_234_500_001, -1)
        self._query_ids = itertools.count(4_200_000_000_000_000_001)
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base_url: str | None = None

        self._methods: dict[str, tuple[str, Callable[[Params], Any]]] = {}
        self._register_api_methods()

    def _register_api_methods(self) -> None:
        """Registers every ``@api_method`` of the class (``server.FakeTelegram`` does it)."""

    # ------------------------------------------------------------- lifecycle

    async def start(self) -> str:
        """Start serving; returns the base URL ``http://127.0.0.1:PORT``."""
        if self._runner is not None:
            assert self.base_url is not None
            return self.base_url
        self._closing = asyncio.Event()
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("GET", "/file/bot{token}/{file_path:.+}", self._handle_file)
        runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner
        sockets = runner.addresses
        port = sockets[0][1]
        self.port = port
        self.base_url = f"http://{self.host}:{port}"
        return self.base_url

    async def stop(self) -> None:
        self._closing.set()
        if self._poller is not None:
            self._poller.wake.set()
        await self._stop_webhook_task()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def _stop_webhook_task(self) -> None:
        task, self._webhook_task = self._webhook_task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        if self.base_url is None:
            raise RuntimeError("FakeTelegram is not started; await fake.start() first")
        return self.base_url

    def make_bot(self, **bot_kwargs: Any) -> Bot:
        """An ``aiogram.Bot`` wired to this server (caller closes ``bot.session``)."""
        session = AiohttpSession(api=TelegramAPIServer.from_base(self.url))
        return Bot(token=self.token, session=session, **bot_kwargs)

    # ------------------------------------------------------------- HTTP layer

    async def _handle_api(self, request: web.Request) -> web.Response:
        name = request.match_info.get("method", "")
        try:
            return await self._serve_api(request, name)
        except Exception as exc:  # last line of defence: never hand an exception to aiohttp
            self._internal_error(name, exc)
            err = TelegramError(500, f"Internal Server Error: fake server failed: {type(exc).__name__}: {exc}")
            return web.json_response(err.to_json(), status=500)

    async def _serve_api(self, request: web.Request, name: str) -> web.Response:
        try:
            params = await self._read_params(request)
        except TelegramError as err:
            return self._response(self._record(name, {}, err))
        except Exception as exc:
            self._internal_error(name, exc)
            return self._response(self._record(name, {}, bad_request(f"can't parse request: {exc}")))
        if request.match_info.get("token") != self.token:
            return self._response(self._record(name, params, TelegramError(401, "Unauthorized")))
        outcome = await self.call(name, params)
        return self._response(outcome)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info.get("token") != self.token:
            return web.json_response(TelegramError(401, "Unauthorized").to_json(), status=401)
        path = request.match_info.get("file_path", "")
        for stored in self.files.values():
            if stored.file_path == path:
                return web.Response(body=stored.content, content_type=stored.mime_type or "application/octet-stream")
        return web.json_response(TelegramError(404, "Not Found").to_json(), status=404)

    def _response(self, outcome: Any) -> web.Response:
        if isinstance(outcome, TelegramError):
            return web.json_response(outcome.to_json(), status=outcome.error_code)
        body: dict[str, Any] = {"ok": True}
        if isinstance(outcome, OkResult):
            body["result"] = outcome.result
            if outcome.description:
                body["description"] = outcome.description
        else:
            body["result"] = outcome
        return web.json_response(body, dumps=lambda o: json.dumps(o, ensure_ascii=False))

    async def _read_params(self, request: web.Request) -> Params:
        params: Params = dict(request.query)
        if request.method == "POST" and request.body_exists:
            ctype = request.content_type
            if ctype == "application/json":
                raw = await request.read()
                if raw.strip():
                    try:
                        body = json.loads(raw)
                    except ValueError:
                        raise bad_request("can't parse JSON encoded request parameters") from None
                    if not isinstance(body, dict):
                        raise bad_request("can't parse JSON encoded request parameters")
                    params.update(body)
            elif ctype.startswith("multipart/"):
                params.update(await self._read_multipart(await request.multipart()))
            else:  # application/x-www-form-urlencoded (and anything else form-like)
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        params[key] = UploadedFile(value.filename, value.file.read(), value.content_type)
                    else:
                        params[key] = value
        return self._decode_params(params)

    @staticmethod
    async def _read_multipart(reader: aiohttp.MultipartReader) -> Params:
        params: Params = {}
        while True:
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, aiohttp.BodyPartReader):
                continue
            name = part.name
            if not name:
                await part.release()
                continue
            if part.filename is not None:
                data = await part.read(decode=True)
                params[name] = UploadedFile(
                    part.filename, bytes(data), part.headers.get("Content-Type", "application/octet-stream")
                )
            else:
                params[name] = await part.text()
        return params

    @staticmethod
    def _decode_params(params: Params) -> Params:
        files = {k: v for k, v in params.items() if isinstance(v, UploadedFile)}
        out: Params = {}
        for key, value in params.items():
            if isinstance(value, str) and key in JSON_FIELDS:
                try:
                    value = json.loads(value)
                except ValueError:
                    what = "reply keyboard markup" if key == "reply_markup" else key
                    raise bad_request(f"can't parse {what} JSON object") from None
            if isinstance(value, str) and value.startswith("attach://"):
                attached = files.get(value[len("attach://") :])
                if attached is None:
                    raise bad_request(f"file {value} not found in the request")
                value = attached
            out[key] = value
        # file parts that were only referenced through attach://<name> are not parameters themselves
        referenced = {
            v[len("attach://") :] for v in params.values() if isinstance(v, str) and v.startswith("attach://")
        }
        return {k: v for k, v in out.items() if k not in referenced}

    # ------------------------------------------------------------- dispatch

    async def call(self, method: str, params: Params) -> Any:
        """Run one API method as if requested over HTTP; returns the result or a TelegramError."""
        entry = self._methods.get(method.lower())
        if entry is None:
            return self._record(method, params, TelegramError(404, "Not Found"))
        canonical, handler = entry
        outcome: Any
        try:
            await self._apply_delay(canonical)
            self._apply_faults(canonical, params)
            self._apply_rate_limit(canonical, params)
            result = handler(params)
            if inspect.isawaitable(result):
                result = await result
            outcome = result
        except TelegramError as err:
            outcome = err
        except Exception as exc:
            self._internal_error(canonical, exc)
            outcome = TelegramError(500, f"Internal Server Error: fake server failed: {type(exc).__name__}: {exc}")
        return self._record(canonical, params, outcome)

    def _record(self, method: str, params: Params, outcome: Any) -> Any:
        stored = outcome.result if isinstance(outcome, OkResult) else outcome
        self.calls.append(ApiCall(method, {k: _jsonable(v) for k, v in params.items()}, time.time(), stored))
        if isinstance(outcome, TelegramError):
            log.debug("fake telegram: %s -> %s", method, outcome)
            chat = self._chat_from_params(params)
            if chat is not None:
                chat.add_event(
                    ChatEvent(
                        "api_error",
                        params={
                            "method": method,
                            "error_code": outcome.error_code,
                            "description": outcome.description,
                        },
                    )
                )
        return outcome

    def _chat_from_params(self, params: Params) -> ChatState | None:
        raw = params.get("chat_id")
        try:
            return self.chats.get(int(raw)) if raw is not None else None
        except (TypeError, ValueError):
            return None

    def _internal_error(self, method: str, exc: BaseException) -> None:
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.internal_errors.append(f"{method}: {tb}")
        log.error("fake telegram internal error in %s:\n%s", method, tb)

    async def _apply_delay(self, method: str) -> None:
        for d in self._delays:
            if d.method in (None, method.lower()) and (d.times is None or d.times > 0):
                if d.times is not None:
                    d.times -= 1
                self._delays = [x for x in self._delays if x.times is None or x.times > 0]
                self.held += 1
                try:
                    with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
                        await asyncio.wait_for(self._closing.wait(), d.seconds)
                finally:
                    self.held -= 1
                return

    def _apply_faults(self, method: str, params: Params) -> None:
        for f in self._faults:
            if f.method not in (None, method.lower()):
                continue
            if f.chat_id is not None and str(params.get("chat_id")) != f.chat_id:
                continue
            if f.times is not None:
                f.times -= 1
            self._faults = [x for x in self._faults if x.times is None or x.times > 0]
            raise TelegramError(f.error.error_code, f.error.description, dict(f.error.parameters or {}))

    def _apply_rate_limit(self, method: str, params: Params) -> None:
        if method not in SENDING_METHODS:
            return
        chat = self._chat_from_params(params)
        if isinstance(chat, GroupState):
            self._apply_group_limit(chat)
        per_chat, global_limit = self._rate
        if per_chat is None and global_limit is None:
            return
        now = time.monotonic()
        windows: list[tuple[deque[float], int]] = []
        if global_limit is not None:
            windows.append((self._global_send_times, global_limit))
        if per_chat is not None and chat is not None:
            windows.append((chat.send_times, per_chat))
        wait = 0.0
        for times, limit in windows:
            while times and now - times[0] >= 1.0:
                times.popleft()
            if len(times) >= limit:
                wait = max(wait, times[0] + 1.0 - now)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise TelegramError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})
        for times, _ in windows:
            times.append(now)

    def _apply_group_limit(self, group: GroupState) -> None:
        """~20 messages per minute to one group: sliding window over real (monotonic) time."""
        limit = self.group_limit_per_minute
        times = group.group_send_times
        if limit is None:
            return
        window = float(self.group_window_seconds)
        now = time.monotonic()
        while times and now - times[0] >= window:
            times.popleft()
        if len(times) >= limit:
            retry_after = max(1, math.ceil(times[0] + window - now))
            raise TelegramError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})
        times.append(now)

"""The composition root: builds everything from Settings and runs it (long polling or webhook)."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.types import BotCommand, BotCommandScopeDefault, Update
from aiogram.utils.i18n import I18n
from aiogram_dialog import setup_dialogs
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot import logs, response_types
from bot.config import ConfigurationError, Settings
from bot.context import AppContext, utcnow
from bot.i18n import N_, create_i18n
from bot.inbox import Inbox, OfflineReply
from bot.jobs import renderers
from bot.jobs.activity import Activity
from bot.jobs.broadcaster import Broadcaster
from bot.jobs.pacer import Pacer, Shared
from bot.jobs.relaying import Relay
from bot.jobs.reminder_worker import ReminderWorker, make_worker_id
from bot.jobs.schedule import Jobs, schedule
from bot.jobs.sender import Sender, listen_url
from bot.jobs.telegram_session import create_session
from bot.jobs.trail import MessageTrail
from bot.middlewares import DbSession, ForgedDialogButtons, InFlight, LocaleMiddleware, NoReplyCallbacks, WhoIsSpeaking
from bot.services import catalog, outbox, surveys, users
from bot.services.crisis import CrisisDetector
from db import cache as db_cache
from db import migrate
from db.engine import create_engine, create_session_factory, one_statement_sessions, open_pool
from db.fsm_storage import SqlStorage
from db.types import configure_encryption, configure_pseudonyms, pseudonym
from dialogs.common.keyboards import SOS_LABEL, labels_in_all_locales
from handlers import build_router

log = logging.getLogger(__name__)
DRAIN_TIMEOUT = 25.0  # Docker gives 10 s by default, systemd 90 s; in-flight updates are short.

COMMANDS = (
    ("start", N_("Start again from the menu")),
    ("help", N_("How to use the bot")),
    ("settings", N_("Language and region")),
    ("privacy", N_("What we keep and how to delete it")),
    ("sos", N_("Urgent help: phone numbers")),
    ("hide", N_("Hide this chat")),
)


@dataclass
class Application:
    settings: Settings
    bot: Bot
    dispatcher: Dispatcher
    engine: AsyncEngine
    storage: BaseStorage
    i18n: I18n
    inflight: InFlight
    context: AppContext
    ready: asyncio.Event
    scheduler: AsyncIOScheduler
    reminders: ReminderWorker
    inbox: Inbox
    jobs: Jobs
    broadcaster: Broadcaster | None = None
    sender: Sender | None = None
    _stop: asyncio.Event | None = None

    async def run_broadcasts(self) -> dict[str, int]:
        """Starts due broadcasts and sends what is due now (the sender does it by itself)."""
        assert self.broadcaster is not None
        return dict(await self.broadcaster.run_once())

    async def run_reminders(self) -> dict[str, int]:
        """Sends the reminders that are due now (the sender does it by itself, at their due time)."""
        return await self.reminders.run_once(wait=True)

    async def serve(self, *, handle_signals: bool = True) -> None:
        """Runs until SIGTERM/SIGINT (or ``stop()``); in-flight updates finish, then everything closes.

        Updates go through the durable inbox (``bot/inbox.py``) in both modes: stored first, then
        acknowledged, then handled from the database.
        """
        stop = self._stop = self._stop or asyncio.Event()
        if handle_signals:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
        dp, bot = self.dispatcher, self.bot
        workflow = {"dispatcher": dp, "bots": (bot,), **dp.workflow_data}
        workflow.pop("bot", None)
        try:
            await dp.emit_startup(bot=bot, **workflow)
        except BaseException:  # e.g. Telegram refused the token: close what start-up opened, then say so
            try:
                await dp.emit_shutdown(bot=bot, **workflow)
            finally:
                await bot.session.close()
            raise
        tasks: list[asyncio.Task[None]] = []
        opening: asyncio.Task[None] | None = None
        runner = None
        try:
            tasks.append(asyncio.create_task(self.inbox.run(), name="inbox"))
            if self.settings.webhook_url is not None:
                runner = await _start_webhook(self)
            else:
                await bot.delete_webhook(drop_pending_updates=False)
                tasks.append(asyncio.create_task(self.inbox.poll(dp.resolve_used_update_types()), name="polling"))
                log.info("polling: started")
            self.ready.set()
            # The pool's connections made now, beside the first updates, not by the first burst of them.
            opening = asyncio.create_task(open_pool(self.engine), name="open-pool")
            waiter = asyncio.create_task(stop.wait())
            done, _ = await asyncio.wait({waiter, *tasks}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            for task in done:
                if task is not waiter and (exc := task.exception()) is not None:
                    raise exc
        finally:
            if opening is not None:
                opening.cancel()
            for task in tasks:
                if task.get_name() == "polling":
                    task.cancel()
            if runner is not None:
                await runner.cleanup()
            await self.inbox.close(DRAIN_TIMEOUT)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            try:
                await dp.emit_shutdown(bot=bot, **workflow)
            finally:
                await bot.session.close()
            log.info("stopped")

    async def stop(self) -> None:
        if self._stop is None:
            self._stop = asyncio.Event()
        self._stop.set()


def load_content(settings: Settings) -> tuple[list[catalog.RegionFile], CrisisDetector]:
    """Reads and checks content/ before anything starts, so a broken file stops start-up in one line."""
    content = Path(settings.content_dir)
    for part in ("locales", "regions", "crisis"):
        if not (content / part).is_dir():
            raise ConfigurationError(f"CONTENT_DIR: expected a folder with {part}/ in it, got {content.resolve()}")
    try:
        regions = catalog.load_region_files(content / "regions")
    except catalog.CatalogError as exc:
        raise ConfigurationError(f"CONTENT_DIR: {exc}") from None
    codes = {r.code for r in regions}
    if settings.default_region and settings.default_region not in codes:
        raise ConfigurationError(
            f"DEFAULT_REGION: no file in {content / 'regions'} has code {settings.default_region!r} "
            f"(known: {', '.join(sorted(codes))}; empty for none)"
        )
    try:
        surveys.load(content / "surveys")  # checked and cached: the questions of the feedback surveys
    except surveys.SurveyError as exc:
        raise ConfigurationError(f"CONTENT_DIR: {exc}") from None
    try:
        crisis = CrisisDetector.from_dir(content / "crisis")
    except CrisisDetector.ListError as exc:
        raise ConfigurationError(f"CONTENT_DIR: {exc}") from None
    if crisis.size == 0:
        raise ConfigurationError(f"CONTENT_DIR: no crisis words in {content / 'crisis'}/*.txt")
    return regions, crisis


def build(settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> Application:
    logs.install()  # again here: handlers set up before build() (a test's, an embedding app's) get it too
    configure_encryption(settings.fernet_keys)
    response_types.keep_alive()
    configure_pseudonyms(
        settings.pseudonym_key.get_secret_value() if settings.pseudonym_key else settings.fernet_keys[0]
    )
    region_files, crisis = load_content(settings)
    engine = create_engine(settings.database_url)
    factory = create_session_factory(engine)
    i18n = create_i18n(Path(settings.content_dir), settings.default_locale)
    context = AppContext(
        settings=settings, crisis=crisis, db=factory, default_region=settings.default_region or None, clock=clock
    )
    pacer = _pacer(settings, engine)
    bot = _bot(settings, pacer, retries=True)
    # Ids of recent messages in private chats, for "hide the chat"; each write one statement of its own.
    trail = MessageTrail(one_statement_sessions(factory), clock)
    activity = Activity()  # one INFO line a minute: updates handled, Bot API calls (bot/jobs/activity.py)
    for session_middleware in (trail.outgoing, activity.requests):
        bot.session.middleware(session_middleware)
    dp = Dispatcher(storage=_storage(settings, engine, factory), events_isolation=SimpleEventIsolation(), app=context)
    inflight = InFlight()
    _wire(dp, i18n, factory, inflight, activity, trail)
    sender, relay, worker, broadcaster, broadcast_bot = _senders(context, bot, i18n, pacer, trail)
    dp["relay"], dp["broadcaster"] = relay, broadcaster
    sos = labels_in_all_locales(i18n, SOS_LABEL)
    inbox = Inbox(
        context,
        dp,
        bot,
        OfflineReply(bot, i18n, region_files),
        worker_id=worker.worker_id,
        urgent=lambda text: text.strip() in sos or text.startswith("/sos") or crisis.detect(text),
        lease=timedelta(seconds=settings.inbox_lease_seconds),
        before_done=dp.storage.flush if isinstance(dp.storage, SqlStorage) else None,
    )
    scheduler = AsyncIOScheduler(timezone=settings.default_timezone)  # the jobs: bot/jobs/schedule.py
    application = Application(
        settings,
        bot,
        dp,
        engine,
        dp.storage,
        i18n,
        inflight,
        context,
        asyncio.Event(),
        scheduler,
        worker,
        inbox,
        Jobs(context, bot, i18n),
        broadcaster,
        sender,
    )
    schedule(scheduler, application.jobs, activity, trail)
    _lifecycle(application, region_files, pacer, relay, trail, broadcast_bot)
    return application


def _senders(
    context: AppContext, bot: Bot, i18n: I18n, pacer: Pacer, trail: MessageTrail
) -> tuple[Sender, Relay, ReminderWorker, Broadcaster, Bot]:
    """The one sender and its lanes: relayed messages, reminders and notices (with every renderer),
    broadcasts (through a Bot of their own); also the Bot that broadcasts use."""
    settings = context.settings
    # The one sender of what the bot sends on its own: a lane per queue (relayed messages ▸
    # reminders and notices ▸ broadcasts), asleep until the next due time or a kick (bot/jobs/sender.py).
    sender = Sender(
        context,
        pacer,
        worker_id=make_worker_id(),
        idle=settings.reminder_poll_seconds,
        listen_url=listen_url(settings.database_url),
    )
    relay = Relay(context, bot, i18n, sender)
    worker = ReminderWorker(
        context,
        bot,
        i18n,
        sender,
        max_attempts=settings.reminder_max_attempts,
        lease=timedelta(seconds=settings.reminder_lease_seconds),
    )
    renderers.register(worker, context, bot, i18n)
    outbox.wake_on_commit(context.db, sender.kick)  # what a commit queued goes at once
    # Broadcasts send through a Bot of their own whose session does not retry: a 429 must reach the
    # sender, which then pauses as a whole (bot/jobs/broadcaster.py).
    broadcast_bot = _bot(settings, pacer, retries=False)
    broadcast_bot.session.middleware(trail.outgoing)
    broadcaster = Broadcaster(
        context,
        broadcast_bot,
        i18n,
        sender,
        rate=settings.broadcast_rate_per_second,
        lease=timedelta(seconds=max(settings.broadcast_lease_seconds, settings.telegram_timeout + 5)),
    )
    return sender, relay, worker, broadcaster, broadcast_bot


def _storage(settings: Settings, engine: AsyncEngine, factory: async_sessionmaker[AsyncSession]) -> BaseStorage:
    """Dialog state: in the database (with a write-through cache), or in Redis for several instances."""
    # In-process caches (dialog state, profiles, regions and catalog) are only correct while one
    # instance serves the bot; several instances share state through Redis and read the database.
    db_cache.configure(enabled=not settings.redis_url)
    if not settings.redis_url:
        return SqlStorage(engine, factory)
    from aiogram.fsm.storage.redis import RedisStorage  # noqa: PLC0415  # the redis client only with REDIS_URL

    return RedisStorage.from_url(settings.redis_url, key_builder=DefaultKeyBuilder(with_bot_id=True, with_destiny=True))


def _pacer(settings: Settings, engine: AsyncEngine) -> Pacer:
    """Telegram's limits for what the bot sends on its own, shared through the database on PostgreSQL."""
    shared = settings.shared_send_limits
    if shared is None:
        shared = engine.dialect.name == "postgresql"
    return Pacer(
        settings.send_rate_per_second,
        shared=Shared(engine, lambda chat: f"c{pseudonym(int(chat))}" if isinstance(chat, int) else str(chat)[:32])
        if shared
        else None,
        private_interval=settings.send_per_chat_interval_seconds,
    )


def _bot(settings: Settings, pacer: Pacer, *, retries: bool) -> Bot:
    """A Bot API client. With ``retries`` (the default one) every call goes through the retry layer,
    and a 429 on any call pauses that chat in the pacer; without, errors reach the caller at once."""
    if retries:
        session: AiohttpSession = create_session(
            str(settings.telegram_api_url),
            timeout=settings.telegram_timeout,
            attempts=settings.telegram_retry_attempts,
            on_flood=lambda seconds, chat: pacer.pause(seconds, chat),
        )
    else:
        session = AiohttpSession(
            api=TelegramAPIServer.from_base(str(settings.telegram_api_url).rstrip("/")),
            timeout=settings.telegram_timeout,
        )
    return Bot(
        token=settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


def _wire(
    dp: Dispatcher,
    i18n: I18n,
    factory: async_sessionmaker[AsyncSession],
    inflight: InFlight,
    activity: Activity,
    trail: MessageTrail,
) -> None:
    """The middlewares, in their order, the routers and the dialogs."""
    # One update at a time per chat (SimpleEventIsolation): aiogram_dialog reads a screen's state
    # before it takes its own lock, so a quick second tap could otherwise act on the screen the first
    # tap just left. Counted from the very first middleware: an update still waiting for its chat's
    # lock (held by aiogram's FSM middleware) is in flight too, and shutdown must wait for it as well.
    builtin = list(dp.update.outer_middleware)
    for middleware in builtin:
        dp.update.outer_middleware.unregister(middleware)
    dp.update.outer_middleware(inflight)
    dp.update.outer_middleware(activity.count_update)
    for middleware in builtin:
        dp.update.outer_middleware(middleware)
    dp.update.outer_middleware(DbSession(factory))
    dp.update.outer_middleware(WhoIsSpeaking())
    locale = LocaleMiddleware(i18n)
    dp.update.outer_middleware(locale)
    dp.message.outer_middleware(trail.incoming)
    dp["trail"] = trail
    # Error handlers run after the update's own middlewares have unwound: give them a session and
    # the person's language again, or an apology could not even be worded.
    dp.errors.outer_middleware(DbSession(factory))
    dp.errors.outer_middleware(locale)
    dp.include_router(build_router(i18n))
    # Before setup_dialogs: these run ahead of aiogram_dialog's own outer middlewares.
    dp.callback_query.outer_middleware(ForgedDialogButtons())
    dp.message.outer_middleware(NoReplyCallbacks())
    # Screens opened outside a dialog's own update (an edited message with crisis words).
    dp["dialog_bg_factory"] = setup_dialogs(dp)


def _lifecycle(
    app: Application,
    region_files: list[catalog.RegionFile],
    pacer: Pacer,
    relay: Relay,
    trail: MessageTrail,
    broadcast_bot: Bot,
) -> None:
    """What runs at start-up (token, migrations, catalog, admins, commands, clocks) and at shutdown."""
    bot, dp, settings, sender, scheduler = app.bot, app.dispatcher, app.settings, app.sender, app.scheduler
    assert sender is not None

    async def on_startup() -> None:
        me = await bot.get_me()  # first: a token Telegram refuses stops the start before anything else
        log.info("starting as bot id %d", me.id)
        await migrate.upgrade(app.engine)
        async with app.context.db() as session:
            live = await catalog.sync(session, region_files, now=app.context.now())
            await users.bootstrap_admins(session, settings.admin_ids, now=app.context.now())
        log.info("catalog: %d live entries; admins: %d", live, len(settings.admin_ids))
        await _set_commands(bot, app.i18n)
        scheduler.start()
        sender.start()  # what fell due while the bot was down goes now, not at the first wake

    async def drain() -> None:
        if scheduler.running:
            scheduler.shutdown(wait=False)
        await relay.close(DRAIN_TIMEOUT)  # copies to the team under way; the outbox keeps the rest
        await sender.close(DRAIN_TIMEOUT)  # hands back at once what waits for a slot
        await app.inflight.drain(DRAIN_TIMEOUT)
        await trail.close()

    async def on_shutdown() -> None:
        await broadcast_bot.session.close()
        await pacer.close()
        await app.engine.dispose()

    dp.startup.register(on_startup)
    dp.shutdown.register(drain)
    # The Dispatcher closes the FSM storage in a shutdown handler of its own, registered first;
    # updates still in flight must finish (and save their dialog state) before that.
    dp.shutdown.handlers.insert(0, dp.shutdown.handlers.pop())
    dp.shutdown.register(on_shutdown)


async def _set_commands(bot: Bot, i18n: I18n) -> None:
    for locale in i18n.available_locales:
        commands = [BotCommand(command=c, description=i18n.gettext(d, locale=locale)) for c, d in COMMANDS]
        language = None if locale == i18n.default_locale else locale
        await bot.set_my_commands(commands, scope=BotCommandScopeDefault(), language_code=language)


async def _start_webhook(app: Application) -> Any:
    """The webhook server: a wrong secret gets 401; a body that is not an Update gets 400; 200 only
    once the update is stored (otherwise 503, and Telegram sends it again later)."""
    # aiohttp's server (1.6 MiB) is loaded only in webhook mode: a bot that polls never needs it.
    from aiohttp import web  # noqa: PLC0415  (deferred: see above)

    settings = app.settings
    assert settings.webhook_secret is not None  # Settings refuses a webhook without a secret
    secret = settings.webhook_secret.get_secret_value()

    async def receive(request: web.Request) -> web.Response:
        if not hmac.compare_digest(request.headers.get("X-Telegram-Bot-Api-Secret-Token", ""), secret):
            return web.Response(status=401)
        try:
            payload = json.loads(await request.read())
            if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
                raise ValueError("not an update")
            Update.model_validate(payload).event_type  # noqa: B018  (an update of no known kind raises)
        except Exception as exc:
            log.warning("webhook: a body that is not an update refused (%s)", type(exc).__name__)
            return web.Response(status=400, text="not an Update")
        if not await app.inbox.accept([payload]):
            return web.Response(status=503)
        return web.json_response({})

    async def healthz(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    web_app = web.Application()
    web_app.router.add_post(settings.webhook_path, receive)
    web_app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(web_app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, settings.webhook_listen_host, settings.webhook_listen_port)
    await site.start()
    await app.bot.set_webhook(
        str(settings.webhook_url),
        secret_token=secret,
        allowed_updates=app.dispatcher.resolve_used_update_types(),
    )
    log.info("webhook mode: listening on %s:%d", settings.webhook_listen_host, settings.webhook_listen_port)
    return runner

"""Junk in, kind words out: random updates of every kind from several people, against the real bot.

The application runs in this process (``bot.app.build``, as ``python -m bot`` does) against the fake
Bot API of the tests. Each round, several people (participants, a team member, an admin) send random
texts (unicode, RTL, zero-width, HTML-like, 4096 characters), commands with junk arguments, media of
every kind, replies to old messages, real, replayed and forged button presses, edits, block/unblock,
while a group chats, a channel posts and someone types an inline query; one person sends /start
throughout. After each round it checks:

- no handler failed (no ERROR record in the log);
- every private message and every press got an answer (a message to that chat, or the press answered);
- the fake Bot API refused nothing with 400.

``tests/e2e/test_fuzz.py`` runs it under hypothesis with a fixed seed and a bounded number of examples
(both databases). A longer run, with random seeds, until the time is up:

    .venv/bin/python -m bench.fuzz --minutes 5                          # SQLite file in a temp folder
    .venv/bin/python -m bench.fuzz --minutes 5 --database-url postgresql+asyncpg://…/fuzz
    .venv/bin/python -m bench.fuzz --minutes 5 --log fuzz.log           # the bot's log, to grep for ERROR
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import random
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from fake_bot_api import FakeTelegram, FakeUser, TelegramError

COMMANDS = (
    "start",
    "help",
    "settings",
    "privacy",
    "sos",
    "human",
    "menu",
    "cases",
    "case",
    "overdue",
    "questions",
    "answered",
    "setrole",
    "survey_report",
    "stats",
    "invite",
    "newcase",
    "catalog",
    "catalog_history",
    "broadcast",
    "broadcasts",
    "close",
    "reopen",
    "assign",
    "card",
    "q",
    "report",
    "hide",
    "chatid",
    "setname",
    "myname",
    "nosuchcommand",
)
ODD = (
    "\u200b\u200c\u200d\u2060",  # zero-width
    "\u202eשלום עולם\u202c",  # RTL with an override
    "مرحبا ١٢٣ ²³",  # Arabic digits, superscripts
    "<b>жирный</b> <a href='x'>x</a> &amp; <script>",
    "K7QM3XPA",
    "31.12.2026",
    "²².²².²⁰²⁶",
    "١٢.١٢.٢٠٢٦",
    "99999999999999999999",
    "-9223372036854775809",
    "1e5",
    "________",
    "\x00\x01\x1d\x1f",
    "ⅷ ⅻ ½",
    "Ｋ７ＱＭ３ＸＰＡ",
    "Мне очень плохо",
    "Hello мир 你好 🌍",
)
FORGED = (
    "",
    "ag:{n}:y",
    "ag:{n}:n",
    "ci:{n}:d",
    "ci:{n}:m",
    "ci:{n}:m14",
    "ci:{n}:zz",
    "rt:{n}:{n}",
    "sv:{n}:{n}:{n}",
    "sv:{n}:0:-",
    "{n}\x1d{n}",
    "\x1d",
    "{n}\x1d",
    "\x1d{n}",
    "{n}",
    "menu",
)
NUMBERS = ("1", "0", "-1", "²", "١٢", "99999999999999999999", "9223372036854775808", "abc", "", "\x00", "1:2")
MEDIA = (
    "sticker",
    "photo",
    "voice",
    "video_note",
    "document",
    "location",
    "contact",
    "venue",
    "video",
    "animation",
    "audio",
    "dice",
    "poll",
)


# ------------------------------------------------------------------ what people do


def _texts() -> st.SearchStrategy[str]:
    junk = st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]),
        min_size=1,
        max_size=60,
    )
    long = st.integers(min_value=1000, max_value=4096).map(lambda n: ("ы" * n)[:n])
    mixed = st.lists(st.one_of(st.sampled_from(ODD), junk), min_size=1, max_size=4).map(" ".join)
    return st.one_of(junk, long, mixed, st.sampled_from(ODD)).filter(lambda t: t.strip() != "")


def _commands() -> st.SearchStrategy[str]:
    arg = st.one_of(st.sampled_from(ODD), st.sampled_from(NUMBERS), st.text(max_size=20))
    return st.builds(
        lambda name, args: ("/" + name + " " + " ".join(args)).strip(),
        st.sampled_from(COMMANDS),
        st.lists(arg, max_size=3),
    )


def _forged() -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(lambda t, n: t.replace("{n}", n), st.sampled_from(FORGED), st.sampled_from(NUMBERS)),
        st.text(max_size=64),
    )


def actions() -> st.SearchStrategy[tuple[Any, ...]]:
    """One thing a person (by index) does; indices pick among what is on the screen at that moment."""
    who = st.integers(min_value=0, max_value=63)
    pick = st.integers(min_value=0, max_value=1000)
    return st.one_of(
        st.tuples(st.just("text"), who, _texts()),
        st.tuples(st.just("command"), who, _commands()),
        st.tuples(st.just("media"), who, st.sampled_from(MEDIA)),
        st.tuples(st.just("press"), who, pick),
        st.tuples(st.just("press"), who, pick),
        st.tuples(st.just("press"), who, pick),
        st.tuples(st.just("replay"), who, pick),
        st.tuples(st.just("forge"), who, _forged()),
        st.tuples(st.just("tamper"), who, pick, st.one_of(st.sampled_from(NUMBERS), st.text(max_size=12))),
        st.tuples(st.just("tamper"), who, pick, st.one_of(st.sampled_from(NUMBERS), st.text(max_size=12))),
        st.tuples(st.just("reply"), who, pick, _texts()),
        st.tuples(st.just("edit"), who, pick, _texts()),
        st.tuples(st.just("block"), who),
        st.tuples(st.just("group"), who, _texts()),
        st.tuples(st.just("channel"), who, _texts()),
        st.tuples(st.just("inline"), who, _texts()),
    )


def rounds(min_actions: int = 1, max_actions: int = 30) -> st.SearchStrategy[list[tuple[Any, ...]]]:
    return st.lists(actions(), min_size=min_actions, max_size=max_actions)


# ------------------------------------------------------------------ the driver


@dataclass
class Problems:
    errors: list[str] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.errors or self.unanswered or self.refused)

    def report(self) -> str:
        lines = []
        for title, items in (
            ("ERROR log records", self.errors),
            ("private updates without an answer", self.unanswered),
            ("400 from the Bot API", self.refused),
        ):
            if items:
                lines.append(f"{title} ({len(items)}):")
                lines.extend("  " + item for item in items[:20])
        return "\n".join(lines)


class ErrorRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class Recorder:
    """The outermost update middleware: when each update started and finished, by the fake's call count."""

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake
        self.spans: dict[int, tuple[int, int]] = {}
        self.done = asyncio.Event()

    async def __call__(
        self, handler: Callable[[Any, dict[str, Any]], Awaitable[Any]], event: Any, data: dict[str, Any]
    ) -> Any:
        start = len(self.fake.calls)
        try:
            return await handler(event, data)
        finally:
            self.spans[event.update_id] = (start, len(self.fake.calls))
            self.done.set()


SENDING = (
    "sendMessage",
    "sendPhoto",
    "sendDocument",
    "sendSticker",
    "sendVoice",
    "sendVideo",
    "sendLocation",
    "sendContact",
    "copyMessage",
    "forwardMessage",
    "editMessageText",
    "editMessageReplyMarkup",
    "editMessageCaption",
    "sendMediaGroup",
)


class Fuzzer:
    def __init__(self, fake: FakeTelegram, app: Any, people: list[FakeUser], group: Any | None = None) -> None:
        self.fake = fake
        self.app = app
        self.people = people
        self.group = group
        self.group_members = [group.member(first_name=f"Член{i}") for i in range(2)] if group is not None else []
        self.recorder = Recorder(fake)
        # Outermost, so the span covers everything the bot does for the update, its error handlers too.
        app.dispatcher.update.outer_middleware._middlewares.insert(0, self.recorder)
        self.canary = fake.user(first_name="Canary", language_code="ru")

    @classmethod
    def crowd(cls, fake: FakeTelegram, app: Any, *, people: int, admin: FakeUser, group: Any | None) -> Fuzzer:
        languages = ["ru", "en", None, "uk"]
        crowd = [fake.user(language_code=languages[i % len(languages)]) for i in range(people - 1)]
        return cls(fake, app, [*crowd, admin], group)

    async def run(self, plan: list[tuple[Any, ...]], *, seconds: float = 120.0) -> Problems:
        """Does what the plan says, waits until the bot has handled all of it, and checks the result."""
        calls_before = len(self.fake.calls)
        pushed: list[int] = []
        for action in plan:
            before = self.fake._next_update_id
            await self._do(action)
            pushed.extend(range(before, self.fake._next_update_id))
        before = self.fake._next_update_id
        canary = await self.canary.send("/start")
        pushed.extend(range(before, self.fake._next_update_id))
        await self._wait(pushed, seconds)
        await self.canary.expect("", timeout=seconds, predicate=lambda m: m.message_id > canary)
        return self._check(pushed, calls_before, await self._relayed())

    async def _relayed(self) -> set[tuple[str, int]]:
        """Her messages in the relay's outbox: handed to a person (the copy itself goes beside the
        handler, at the curators' group's pace, so it may still be waiting for its turn)."""
        from sqlalchemy import select

        from db.models import RelayMessage

        async with self.app.context.db() as session:
            rows = await session.execute(
                select(RelayMessage.source_chat_id, RelayMessage.source_message_id).where(RelayMessage.inbound)
            )
            found = {(str(chat), message) for chat, message in rows.all()}
            await session.commit()
        return found

    async def _do(self, action: tuple[Any, ...]) -> None:
        kind, who = action[0], action[1]
        person = self.people[who % len(self.people)]
        if person.blocked and kind not in ("group", "channel", "inline"):
            person.unblock()
            return
        chat = person.chat
        bot_messages = [m for m in chat.bot_messages() if not m.deleted]
        if kind == "text":
            self.fake._user_text(chat, action[2])
        elif kind == "command":
            self.fake._user_text(chat, action[2])
        elif kind == "media":
            self._media(person, action[2])
        elif kind in ("press", "replay"):
            buttons = [
                (rec, button)
                for rec in (bot_messages[-1:] if kind == "press" else bot_messages)
                for row in (rec.reply_markup or {}).get("inline_keyboard", [])
                for button in row
                if "callback_data" in button
            ]
            if not buttons:
                self.fake._user_text(chat, "/start")
            else:
                rec, button = buttons[action[2] % len(buttons)]
                self.fake._push_callback(chat, rec, button["callback_data"])
        elif kind == "tamper":
            # A real button of the screen with the end of its data changed (a dialog item id, a number).
            buttons = [
                (rec, button["callback_data"])
                for rec in bot_messages[-2:]
                for row in (rec.reply_markup or {}).get("inline_keyboard", [])
                for button in row
                if "callback_data" in button
            ]
            if not buttons:
                self.fake._user_text(chat, "/start")
            else:
                rec, data = buttons[action[2] % len(buttons)]
                cut = max(data.rfind(":"), data.rfind("\x1d")) + 1
                self.fake._push_callback(chat, rec, (data[:cut] + action[3]).encode()[:64].decode(errors="ignore"))
        elif kind == "forge":
            if not bot_messages:
                self.fake._user_text(chat, "/start")
            else:
                data = action[2]
                self.fake._push_callback(chat, bot_messages[-1], data if data else None)
        elif kind == "reply":
            targets = sorted(mid for mid, m in chat.messages.items() if not m.deleted)
            self.fake._user_text(chat, action[3], reply_to=targets[action[2] % len(targets)] if targets else None)
        elif kind == "edit":
            own = [m for m in chat.messages.values() if not m.from_bot and m.kind == "text" and not m.deleted]
            if own:
                self.fake._user_edit(chat, own[action[2] % len(own)].message_id, action[3])
            else:
                self.fake._user_text(chat, action[3])
        elif kind == "block":
            if chat.started:
                person.block()
        elif kind == "group":
            if self.group_members:
                await self.group_members[who % 2].send(action[2])
        elif kind == "channel":
            self.fake.push_update(
                {
                    "channel_post": {
                        "message_id": who + 1,
                        "chat": {"id": -1002000000000 - who, "type": "channel", "title": "Канал"},
                        "date": int(time.time()),
                        "text": action[2],
                    }
                }
            )
        elif kind == "inline":
            self.fake.push_update(
                {
                    "inline_query": {
                        "id": str(who) + "77",
                        "from": dict(chat.user),
                        "query": action[2][:256],
                        "offset": "",
                    }
                }
            )

    def _media(self, person: FakeUser, kind: str) -> None:
        chat = person.chat
        if kind in ("sticker", "photo", "voice", "video_note", "document"):
            self.fake._user_media(chat, kind)
            return
        file: dict[str, Any] = {"file_id": "BAACAgIAAxkBAAIfake" + kind, "file_unique_id": "AgADfake" + kind}
        bodies: dict[str, dict[str, Any]] = {
            "location": {"location": {"latitude": 55.75, "longitude": 37.61}},
            "contact": {"contact": {"phone_number": "+79000000000", "first_name": "Кто-то"}},
            "venue": {
                "venue": {
                    "location": {"latitude": 55.75, "longitude": 37.61},
                    "title": "Кафе",
                    "address": "ул. Ленина, 1",
                },
                "location": {"latitude": 55.75, "longitude": 37.61},
            },
            "video": {"video": {**file, "width": 1, "height": 1, "duration": 1}},
            "animation": {
                "animation": {**file, "width": 1, "height": 1, "duration": 1},
                "document": {**file},
            },
            "audio": {"audio": {**file, "duration": 1}},
            "dice": {"dice": {"emoji": "🎲", "value": 3}},
            "poll": {
                "poll": {
                    "id": "1",
                    "question": "?",
                    "options": [
                        {"persistent_id": "a", "text": "a", "voter_count": 0},
                        {"persistent_id": "b", "text": "b", "voter_count": 0},
                    ],
                    "total_voter_count": 0,
                    "is_closed": False,
                    "is_anonymous": True,
                    "type": "regular",
                    "allows_multiple_answers": False,
                    "allows_revoting": False,
                    "members_only": False,
                }
            },
        }
        self.fake._user_message(chat, bodies[kind])

    async def _wait(self, pushed: list[int], seconds: float) -> None:
        """Until the bot has handled every update it receives (Telegram does not deliver the types it did
        not ask for: those stay pending and are not waited for)."""
        deadline = time.monotonic() + seconds
        while True:
            self.recorder.done.clear()
            missing = [u for u in pushed if u not in self.recorder.spans and not self._dropped(u)]
            if not missing:
                return
            if time.monotonic() > deadline:
                kinds = [next(iter(k for k in self.fake.pushed[u] if k != "update_id")) for u in missing]
                raise AssertionError(f"the bot did not handle {len(missing)} update(s) in {seconds:g} s: {kinds}")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self.recorder.done.wait()

    def _dropped(self, update_id: int) -> bool:
        """Of a type the bot did not ask for: Telegram never delivers it (nor does the fake)."""
        return not self.fake._is_allowed(self.fake.pushed[update_id], self.fake._allowed_updates)

    def _check(self, pushed: list[int], calls_before: int, relayed: set[tuple[str, int]]) -> Problems:
        problems = Problems()
        calls = self.fake.calls
        for call in calls[calls_before:]:
            if isinstance(call.result, TelegramError) and call.result.error_code == 400:
                problems.refused.append(f"{call.method}: {call.result.description}")
        sent = self._updates_by_id(pushed)
        # Whoever blocks the bot in this round may get no answer to what she sent before: the bot may
        # already know she blocked it (Telegram delivers nothing to her then).
        blocking = {
            u["my_chat_member"]["chat"]["id"]
            for u in sent.values()
            if u.get("my_chat_member", {}).get("new_chat_member", {}).get("status") == "kicked"
        }
        for update_id in pushed:
            update = sent.get(update_id)
            span = self.recorder.spans.get(update_id)
            if update is None or span is None:
                continue
            private = update.get("message") or (update.get("callback_query") or {}).get("message") or {}
            if private.get("chat", {}).get("id") in blocking:
                continue
            start, end = span
            window = calls[start:end]
            if "message" in update and update["message"]["chat"]["type"] == "private":
                chat_id = update["message"]["chat"]["id"]
                # 403: she blocked the bot after she wrote, before the answer; it was tried.
                # In an open conversation her message is relayed to a person (in the relay's outbox).
                if (str(chat_id), update["message"]["message_id"]) in relayed:
                    continue
                if not any(
                    (c.method in SENDING and str(c.params.get("chat_id")) == str(chat_id) and (c.ok or _blocked(c)))
                    or (
                        c.method in ("copyMessage", "forwardMessage")
                        and str(c.params.get("from_chat_id")) == str(chat_id)
                    )
                    for c in window
                ):
                    did = ", ".join(sorted({c.method for c in window})) or "nothing"
                    problems.unanswered.append(
                        f"update {update_id}: message {_shape(update['message'])}; the bot did: {did}"
                    )
            elif "callback_query" in update:
                qid = update["callback_query"]["id"]
                if not any(
                    c.method == "answerCallbackQuery" and c.params.get("callback_query_id") == qid and c.ok
                    for c in window
                ):
                    problems.unanswered.append(
                        f"update {update_id}: press {update['callback_query'].get('data', '')[:40]!r}"
                    )
        return problems

    def _updates_by_id(self, pushed: list[int]) -> dict[int, dict[str, Any]]:
        return {u: self.fake.pushed[u] for u in pushed if u in self.fake.pushed}


def _blocked(call: Any) -> bool:
    return isinstance(call.result, TelegramError) and call.result.error_code == 403


def _shape(message: dict[str, Any]) -> str:
    """What kind of message it was, never its text (the log and the report hold no content)."""
    kind = next((k for k in message if k not in ("message_id", "from", "chat", "date", "entities")), "?")
    extra = " (reply)" if "reply_to_message" in message else ""
    if kind == "text" and message["text"].startswith("/"):
        return "command /" + message["text"][1:].split()[0][:32] + extra if message["text"][1:].split() else "'/'"
    return kind + extra


# ------------------------------------------------------------------ the long run


@contextlib.asynccontextmanager
async def running_bot(database_url: str, people: int = 6) -> AsyncIterator[Fuzzer]:
    """The fake Bot API, the bot (in process) and a Fuzzer over ``people`` people, an admin among them."""
    from bot.app import build
    from tests.conftest import ADMIN_ID, make_settings

    async with FakeTelegram(token="123456:TEST-token") as fake:
        fake.group_limit_per_minute = None
        group = fake.supergroup(title="Кураторы", forum=True)
        admin_id = 990_000_000 + random.randrange(1_000_000)
        settings = make_settings(fake.url, database_url, admin_ids=f"{ADMIN_ID},{admin_id}", curator_chat_id=group.id)
        app = build(settings)
        task = asyncio.create_task(app.serve(handle_signals=False))
        await asyncio.wait_for(app.ready.wait(), 60)
        try:
            admin = fake.user(user_id=admin_id, first_name="Админ", language_code="ru")
            yield Fuzzer.crowd(fake, app, people=people, admin=admin, group=group)
        finally:
            await app.stop()
            await asyncio.wait_for(task, 60)


async def long_run(minutes: float, database_url: str, seed: int | None) -> int:
    errors = ErrorRecords()
    logging.getLogger().addHandler(errors)
    seed = random.randrange(2**32) if seed is None else seed
    print(f"fuzz: seed {seed} (repeat with --seed {seed})")
    rng = random.Random(seed)
    total = failed = 0
    deadline = time.monotonic() + minutes * 60
    async with running_bot(database_url) as fuzzer:
        strategy = rounds()
        while time.monotonic() < deadline:
            plan = _draw(strategy, rng)
            problems = await fuzzer.run(plan)
            total += len(plan)
            if problems:
                failed += 1
                print(problems.report(), file=sys.stderr)
    problems_in_log = len(errors.records)
    print(f"fuzz: {total} actions in {minutes:g} min; rounds with problems: {failed}; ERROR records: {problems_in_log}")
    return 1 if failed or problems_in_log else 0


def _draw(strategy: st.SearchStrategy[Any], rng: random.Random) -> Any:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as fixed_seed

    box: list[Any] = []

    @settings(max_examples=1, database=None, derandomize=False, suppress_health_check=list(HealthCheck), deadline=None)
    @given(strategy)
    def draw(value: Any) -> None:
        box.append(value)

    fixed_seed(rng.randrange(2**32))(draw)()
    return box[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--database-url", default=None, help="default: a SQLite file in a temporary folder")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--log", default=None, help="also write the bot's log (INFO and above) to this file")
    args = parser.parse_args()
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if args.log:
        handlers.append(logging.FileHandler(args.log))
    logging.basicConfig(level=logging.INFO, handlers=handlers, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/fuzz.sqlite3"
        sys.exit(asyncio.run(long_run(args.minutes, url, args.seed)))


if __name__ == "__main__":
    main()

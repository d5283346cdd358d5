"""Fake Telegram Bot API server + "person" client for end-to-end tests of the bot.

async with FakeTelegram(token="123456:TEST-token", bot_username="vmeste_test_bot") as fake:
    bot = fake.make_bot()          # or AiohttpSession(api=TelegramAPIServer.from_base(fake.url))
    user = fake.user(first_name="Anna", language_code="ru")
    await user.send("/start")
    await user.expect("Welcome")

``expect`` and its kin wait up to 30 s by default: a ceiling, not a pause — they return as soon as
the message is there, and a busy machine (three test workers on two cores) does not miss it.

Supergroups with forum topics (group.py) — the bot is an administrator with can_manage_topics:

    group = fake.supergroup(title="Кураторы", forum=True)    # FakeGroup; group.id like -1001234500001
    curator = group.member(first_name="Ольга", admin=True)     # FakeGroupMember (new Telegram user)
    same = group.member(user=user)                            # a private-chat FakeUser is a member too
    topic = await bot.create_forum_topic(group.id, "Anna")    # the bot's own actions push no updates
    await bot.send_message(group.id, "hi", message_thread_id=topic.message_thread_id)
    msg = await group.expect("hi", thread_id=topic.message_thread_id)  # BotMessage
    msg.message_thread_id, msg.is_topic_message, msg.reply_to_message_id  # reply = topic root if implicit
    mid = await curator.send("text", thread_id=tid, reply_to=None, entities=None)  # -> `message` update
    await curator.send_photo(caption, thread_id=tid) / send_sticker / send_voice / send_video_note /
          send_document / send_location(lat, lon, thread_id=tid);  await curator.edit(mid, "new text")
    group.topics -> {thread_id: TopicState(name, closed, icon_color, ...)};  group.topic("Anna")
    group.messages(thread_id=None, everyone=False); group.records(thread_id); group.last; group.mark()
    await group.expect_silence(0.5, thread_id=None); await group.expect_deleted(mid)

Bot API in groups: createForumTopic / editForumTopic / closeForumTopic / reopenForumTopic /
deleteForumTopic, getChatMember, getChatAdministrators; every sending method, copyMessage and
forwardMessage take message_thread_id (unknown -> 400 "Bad Request: message thread not found")
and reply_parameters / reply_to_message_id. Service messages can't be copied/forwarded.

deleteMessage / deleteMessages: a message older than 48 hours (``fake.age_messages(chat_id, seconds)``
makes a chat's messages older) -> 400 "Bad Request: message can't be deleted"; deleteMessages skips it.

Group rate limit: ``fake.group_limit_per_minute = 20`` (default 20, as Telegram's bot FAQ says;
``None`` disables) over a sliding window of ``fake.group_window_seconds`` (default 60.0) real
seconds, counted over all sending methods to one group -> 429 "Too Many Requests: retry after N"
with parameters.retry_after. Tests may shorten the window, e.g. ``fake.group_window_seconds = 2``.
"""

from .group import FakeGroup, FakeGroupMember
from .server import (
    ApiCall,
    ChatEvent,
    FakeTelegram,
    GroupState,
    MessageRecord,
    TelegramError,
    TopicState,
    UploadedFile,
    api_method,
)
from .user import FakeUser
from .watcher import BotMessage

__all__ = [
    "ApiCall",
    "BotMessage",
    "ChatEvent",
    "FakeGroup",
    "FakeGroupMember",
    "FakeTelegram",
    "FakeUser",
    "GroupState",
    "MessageRecord",
    "TelegramError",
    "TopicState",
    "UploadedFile",
    "api_method",
]

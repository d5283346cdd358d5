"""Supergroups with forum topics: the bot's rights, topics, members' updates, copies, the group's limit."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramRetryAfter,
)
from aiogram.types import (
    BufferedInputFile,
    ChatMemberAdministrator,
    Message,
    MessageOriginUser,
    ReplyParameters,
)

from fake_bot_api import FakeTelegram
from fake_bot_api.tests.helpers import TOKEN, started_user

# ------------------------------------------------------------------ supergroup with forum topics


async def test_forum_topic_lifecycle_and_bot_rights(fake: FakeTelegram, bot: Bot) -> None:
    group = fake.supergroup(title="Кураторы", forum=True)
    assert group.id < 0 and str(group.id).startswith("-100")
    member = await bot.get_chat_member(group.id, fake.bot_id)
    assert isinstance(member, ChatMemberAdministrator)
    assert member.status == "administrator" and member.can_manage_topics is True
    chat = await bot.get_chat(group.id)
    assert chat.type == "supergroup" and chat.is_forum is True and chat.title == "Кураторы"

    topic = await bot.create_forum_topic(group.id, "Анна · 10000001", icon_color=16766590)
    assert topic.name == "Анна · 10000001" and topic.icon_color == 16766590
    tid = topic.message_thread_id
    assert group.topics[tid].name == "Анна · 10000001" and group.topics[tid].closed is False
    assert group.topic("Анна").message_thread_id == tid
    # The creation service message is in the group's history, but the bot gets no update about
    # its own action; expect() ignores service messages.
    (root,) = group.records(tid)
    assert root.kind == "forum_topic_created" and root.message_id == tid
    assert root.data["forum_topic_created"] == {"name": "Анна · 10000001", "icon_color": 16766590}
    assert fake.pending_updates == []
    assert [m.kind for m in group.messages(tid, everyone=True)] == ["forum_topic_created"]
    assert group.messages(tid) == []
    await group.expect_silence(0.05)

    other = await bot.create_forum_topic(group.id, "Борис")
    assert other.icon_color in (7322096, 16766590, 13338331, 9367192, 16749490, 16478047)
    with pytest.raises(TelegramBadRequest, match="TOPIC_TITLE_TOO_LONG"):
        await bot.create_forum_topic(group.id, "x" * 129)
    user = await started_user(fake)
    with pytest.raises(TelegramBadRequest, match="the chat is not a forum"):
        await bot.create_forum_topic(user.id, "nope")
    plain = fake.supergroup(title="Plain", forum=False)
    with pytest.raises(TelegramBadRequest, match="the chat is not a forum"):
        await bot.create_forum_topic(plain.id, "nope")

    assert await bot.edit_forum_topic(group.id, tid, name="Анна (закрыто)") is True
    assert group.topics[tid].name == "Анна (закрыто)"
    with pytest.raises(TelegramBadRequest, match="TOPIC_NOT_MODIFIED"):
        await bot.edit_forum_topic(group.id, tid, name="Анна (закрыто)")
    assert await bot.close_forum_topic(group.id, tid) is True
    assert group.topics[tid].closed is True
    with pytest.raises(TelegramBadRequest, match="TOPIC_NOT_MODIFIED"):
        await bot.close_forum_topic(group.id, tid)
    # the bot is an admin: it may still post in a closed topic
    await bot.send_message(group.id, "closed but writable", message_thread_id=tid)
    assert await bot.reopen_forum_topic(group.id, tid) is True
    assert group.topics[tid].closed is False
    kinds = [r.kind for r in group.records(tid)]
    assert kinds == ["forum_topic_created", "forum_topic_edited", "forum_topic_closed", "text", "forum_topic_reopened"]

    assert await bot.delete_forum_topic(group.id, tid) is True
    assert tid not in group.topics and group.records(tid) == []
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_message(group.id, "gone", message_thread_id=tid)
    with pytest.raises(TelegramBadRequest, match="TOPIC_ID_INVALID"):
        await bot.close_forum_topic(group.id, tid)


async def test_bot_sends_into_topics_with_thread_and_reply_fields(fake: FakeTelegram, bot: Bot) -> None:
    group = fake.supergroup(title="Кураторы")
    t1 = (await bot.create_forum_topic(group.id, "Анна")).message_thread_id
    t2 = (await bot.create_forum_topic(group.id, "Борис")).message_thread_id

    sent = await bot.send_message(group.id, "<b>Новое</b> сообщение", parse_mode="HTML", message_thread_id=t1)
    assert sent.chat.type == "supergroup" and sent.chat.is_forum is True
    assert sent.message_thread_id == t1 and sent.is_topic_message is True
    assert sent.reply_to_message is not None and sent.reply_to_message.message_id == t1
    assert sent.reply_to_message.forum_topic_created is not None
    assert sent.reply_to_message.forum_topic_created.name == "Анна"
    msg = await group.expect("новое", thread_id=t1)
    assert msg.message_thread_id == t1 and msg.is_topic_message and msg.reply_to_message_id == t1
    assert msg.entities == [{"type": "bold", "offset": 0, "length": 5}]

    # an explicit reply is kept; without message_thread_id a reply lands in the target's topic
    reply = await bot.send_message(group.id, "ответ", reply_to_message_id=sent.message_id)
    assert reply.reply_to_message is not None
    assert reply.message_thread_id == t1 and reply.reply_to_message.message_id == sent.message_id
    got = await group.expect("ответ")
    assert got.reply_to_message_id == sent.message_id and got.message_thread_id == t1

    photo = await bot.send_photo(
        group.id, BufferedInputFile(b"\xff\xd8jpeg", "p.jpg"), caption="фото", message_thread_id=t2
    )
    assert photo.message_thread_id == t2
    loc = await bot.send_location(group.id, 55.75, 37.61, message_thread_id=t2)
    assert loc.location is not None and loc.message_thread_id == t2
    general = await bot.send_message(group.id, "в General")
    assert general.message_thread_id is None and general.is_topic_message is None
    assert [m.text for m in group.messages(t2)] == ["фото", ""]
    assert [m.kind for m in group.messages()] == ["text", "text", "photo", "location", "text"]

    edited = await bot.edit_message_text(
        "<b>Новое</b> (изм.)", chat_id=group.id, message_id=sent.message_id, parse_mode="HTML"
    )
    assert isinstance(edited, Message)
    assert edited.message_thread_id == t1
    got = await group.expect("(изм.)", thread_id=t1)
    assert got.event == "edited"
    await bot.edit_message_caption(chat_id=group.id, message_id=photo.message_id, caption="фото 2")
    assert (await group.expect("фото 2", thread_id=t2)).event == "edited"
    assert await bot.delete_message(group.id, loc.message_id) is True
    assert (await group.expect_deleted(loc.message_id)).kind == "location"

    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_message(group.id, "x", message_thread_id=999)
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_message(group.id, "x", message_thread_id=1)  # General has no thread id
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_sticker(group.id, BufferedInputFile(b"RIFFwebp", "s.webp"), message_thread_id=999)
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_chat_action(group.id, "typing", message_thread_id=999)
    with pytest.raises(TelegramBadRequest, match="message to be replied not found"):
        await bot.send_message(group.id, "x", message_thread_id=t1, reply_parameters=ReplyParameters(message_id=9999))
    ok = await bot.send_message(
        group.id,
        "без ответа",
        message_thread_id=t1,
        reply_parameters=ReplyParameters(message_id=9999, allow_sending_without_reply=True),
    )
    assert ok.reply_to_message is not None
    assert ok.message_thread_id == t1 and ok.reply_to_message.message_id == t1
    await group.expect("без ответа", thread_id=t1)
    await group.expect_silence(0.1, thread_id=t2)


async def test_group_members_post_real_updates(fake: FakeTelegram, bot: Bot) -> None:
    group = fake.supergroup(title="Кураторы")
    tid = (await bot.create_forum_topic(group.id, "Анна")).message_thread_id
    bot_msg = await bot.send_message(group.id, "Анна: привет", message_thread_id=tid)
    user = await started_user(fake, first_name="Ольга")
    curator = group.member(user=user, admin=True)
    assert curator.id == user.id and curator.is_admin
    stranger = group.member(first_name="Пётр")
    assert stranger.id not in fake.users
    pending = await bot.get_updates(timeout=0)  # confirm (forget) the /start
    await bot.get_updates(offset=pending[-1].update_id + 1, timeout=0)

    m1 = await curator.send(
        "Здравствуйте, /help", thread_id=tid, entities=[{"type": "bold", "offset": 0, "length": 12}]
    )
    m2 = await curator.send("ответ на бота", reply_to=bot_msg.message_id)
    m3 = await stranger.send_photo("фото", thread_id=tid)
    m4 = await stranger.send_sticker(thread_id=tid)
    m5 = await stranger.send("в General")
    await curator.edit(m1, "Здравствуйте (исправлено)")
    updates = await bot.get_updates(timeout=0)
    msgs = [u.message for u in updates if u.message]
    assert [m.message_id for m in msgs] == [m1, m2, m3, m4, m5]
    first = msgs[0]
    assert first.chat.id == group.id and first.chat.type == "supergroup" and first.chat.is_forum is True
    assert first.from_user is not None and first.reply_to_message is not None and first.entities is not None
    assert first.from_user.id == user.id and first.from_user.first_name == "Ольга"
    assert first.message_thread_id == tid and first.is_topic_message is True
    assert first.reply_to_message.message_id == tid and first.reply_to_message.forum_topic_created is not None
    assert [(e.type, e.offset, e.length) for e in first.entities] == [("bold", 0, 12), ("bot_command", 14, 5)]
    assert msgs[1].reply_to_message is not None and msgs[1].reply_to_message.from_user is not None
    assert msgs[1].message_thread_id == tid and msgs[1].reply_to_message.message_id == bot_msg.message_id
    assert msgs[1].reply_to_message.from_user.is_bot is True
    assert msgs[2].photo and msgs[2].caption == "фото" and msgs[2].message_thread_id == tid
    assert msgs[3].sticker is not None and msgs[3].is_topic_message is True
    assert msgs[4].message_thread_id is None and msgs[4].is_topic_message is None
    assert msgs[4].reply_to_message is None
    (edit,) = [u.edited_message for u in updates if u.edited_message]
    assert edit.message_id == m1 and edit.text == "Здравствуйте (исправлено)" and edit.edit_date
    assert edit.message_thread_id == tid

    # the same person is still a private-chat user of the bot
    await user.send("лично")
    priv = (await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0))[-1].message
    assert priv is not None and priv.from_user is not None
    assert priv.chat.type == "private" and priv.from_user.id == curator.id

    with pytest.raises(AssertionError, match="no topic 999"):
        await curator.send("x", thread_id=999)
    await bot.close_forum_topic(group.id, tid)
    with pytest.raises(AssertionError, match="closed"):
        await stranger.send("x", thread_id=tid)
    await curator.send("админ может", thread_id=tid)
    member_info = await bot.get_chat_member(group.id, stranger.id)
    assert member_info.status == "member"


async def test_copy_message_between_private_chat_and_topic_for_each_kind(fake: FakeTelegram, bot: Bot) -> None:
    group = fake.supergroup(title="Кураторы")
    user = await started_user(fake, first_name="Анна")
    tid = (await bot.create_forum_topic(group.id, "Анна")).message_thread_id
    curator = group.member(first_name="Ольга")

    # participant -> topic
    sources = {
        "text": await user.send("see https://example.org please"),
        "photo": await user.send_photo("моё фото"),
        "voice": await user.send_voice(),
        "document": await user.send_document("справка", filename="a.pdf"),
        "video_note": await user.send_video_note(),
        "sticker": await user.send_sticker(),
        "location": await user.send_location(55.75, 37.61),
    }
    for kind, mid in sources.items():
        copied = await bot.copy_message(group.id, user.id, mid, message_thread_id=tid)
        assert copied.message_id > tid
        got = await group.expect(thread_id=tid)
        assert got.kind == kind and got.message_id == copied.message_id
        assert got.message_thread_id == tid and got.reply_to_message_id == tid
        src = user.chat.messages[mid].data
        for key in ("text", "entities", "caption", kind):
            if key in src:
                assert got.raw[key] == src[key], (kind, key)
        assert got.raw["from"]["id"] == fake.bot_id and "forward_origin" not in got.raw

    # curator in the topic -> participant
    bold = [{"type": "bold", "offset": 0, "length": 6}]
    replies = {
        "text": await curator.send("Привет, держитесь", thread_id=tid, entities=bold),
        "photo": await curator.send_photo("схема", thread_id=tid),
        "voice": await curator.send_voice(thread_id=tid),
        "document": await curator.send_document("памятка", thread_id=tid, filename="memo.pdf"),
        "video_note": await curator.send_video_note(thread_id=tid),
        "sticker": await curator.send_sticker(thread_id=tid),
        "location": await curator.send_location(59.93, 30.31, thread_id=tid),
    }
    for kind, mid in replies.items():
        copied = await bot.copy_message(user.id, group.id, mid)
        got = await user.expect()
        assert got.kind == kind and got.message_id == copied.message_id, kind
        assert got.message_thread_id is None and "is_topic_message" not in got.raw
        assert got.raw["chat"]["type"] == "private"
    text_copy = user.chat.messages[max(user.chat.messages) - 6]
    assert text_copy.data["text"] == "Привет, держитесь" and text_copy.data["entities"] == bold

    # caption override on copy; forwarding keeps the origin
    await bot.copy_message(user.id, group.id, replies["photo"], caption="<i>новая</i>", parse_mode="HTML")
    got = await user.expect("новая")
    assert got.kind == "photo" and got.entities == [{"type": "italic", "offset": 0, "length": 5}]
    fwd = await bot.forward_message(group.id, user.id, sources["text"], message_thread_id=tid)
    assert isinstance(fwd.forward_origin, MessageOriginUser)
    assert fwd.message_thread_id == tid and fwd.forward_origin.sender_user.id == user.id

    # service messages can't be copied or forwarded; missing ones are not found
    with pytest.raises(TelegramBadRequest, match="message can't be copied"):
        await bot.copy_message(user.id, group.id, tid)
    with pytest.raises(TelegramBadRequest, match="message can't be forwarded"):
        await bot.forward_message(user.id, group.id, tid)
    with pytest.raises(TelegramBadRequest, match="message to copy not found"):
        await bot.copy_message(user.id, group.id, 99_999)
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.copy_message(group.id, user.id, sources["text"], message_thread_id=777)


async def test_group_rate_limit_20_per_minute_sliding_window(fake: FakeTelegram, bot: Bot) -> None:
    assert fake.group_limit_per_minute == 20 and fake.group_window_seconds == 60
    group = fake.supergroup(title="Кураторы")
    user = await started_user(fake)
    tid = (await bot.create_forum_topic(group.id, "Анна")).message_thread_id  # not a "message"
    for i in range(20):
        await bot.send_message(group.id, f"m{i}", message_thread_id=tid)
    with pytest.raises(TelegramRetryAfter) as info:
        await bot.copy_message(group.id, user.id, 1, message_thread_id=tid)
    assert 1 <= info.value.retry_after <= 60
    assert f"Too Many Requests: retry after {info.value.retry_after}" in info.value.message
    await bot.send_message(user.id, "private chats are not affected")
    await bot.edit_message_text("edits are not sends", chat_id=group.id, message_id=tid + 1)

    fast = fake.supergroup(title="Быстрая")
    fake.group_limit_per_minute = 3
    fake.group_window_seconds = 1.5
    started = time.monotonic()
    for i in range(3):
        await bot.send_message(fast.id, f"f{i}")
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{fake.url}/bot{TOKEN}/sendMessage", json={"chat_id": fast.id, "text": "4"}) as resp:
            assert resp.status == 429
            body = await resp.json()
            retry_after = body["parameters"]["retry_after"]
            assert body["error_code"] == 429 and retry_after in (1, 2)
            assert body["description"] == f"Too Many Requests: retry after {retry_after}"
    with pytest.raises(TelegramRetryAfter):
        await bot.send_photo(fast.id, BufferedInputFile(b"jpg", "p.jpg"))
    await asyncio.sleep(max(0.0, 1.55 - (time.monotonic() - started)))
    assert (await bot.send_message(fast.id, "after the window")).text == "after the window"
    assert [m.text for m in fast.messages()] == ["f0", "f1", "f2", "after the window"]

    fake.group_limit_per_minute = None
    for i in range(10):
        await bot.send_message(fast.id, f"unlimited {i}")


async def test_relay_flow_with_real_dispatcher(fake: FakeTelegram) -> None:
    group = fake.supergroup(title="Кураторы", forum=True)
    topics: dict[int, int] = {}  # user id -> thread id
    owners: dict[int, int] = {}  # thread id -> user id
    dp = Dispatcher()

    @dp.message(F.chat.type == "private")
    async def from_participant(message: Message, bot: Bot) -> None:
        assert message.from_user is not None
        uid = message.from_user.id
        if uid not in topics:
            topic = await bot.create_forum_topic(group.id, f"{message.from_user.first_name} · {uid}")
            topics[uid], owners[topic.message_thread_id] = topic.message_thread_id, uid
        await message.copy_to(group.id, message_thread_id=topics[uid])

    @dp.message(F.chat.id == group.id, F.is_topic_message)
    async def from_curator(message: Message, bot: Bot) -> None:
        uid = owners.get(message.message_thread_id or 0)
        if uid is not None:
            await message.copy_to(uid)

    polling_bot = fake.make_bot()
    task = asyncio.create_task(dp.start_polling(polling_bot, handle_signals=False, polling_timeout=2))
    try:
        anna = fake.user(first_name="Анна")
        await anna.send("Мне тяжело")
        relayed = await group.expect("Мне тяжело")
        tid = relayed.message_thread_id
        assert tid is not None and group.topics[tid].name.startswith("Анна")
        await anna.send_voice()
        assert (await group.expect(thread_id=tid)).kind == "voice"

        curator = group.member(first_name="Ольга", admin=True)
        await curator.send("Мы рядом", thread_id=tid)
        assert (await anna.expect("Мы рядом")).chat_id == anna.id
        await curator.send_photo("вот", thread_id=tid)
        assert (await anna.expect("вот")).kind == "photo"
        await anna.expect_silence(0.2)
        await group.expect_silence(0.1)
    finally:
        await dp.stop_polling()
        await asyncio.wait_for(task, 10)

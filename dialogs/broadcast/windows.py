"""The broadcast composer, window by window: the message, an optional link button, the audience, a
preview and the exact count, then send now or at a chosen time.
"""

from __future__ import annotations

from aiogram import F
from aiogram.types import ContentType
from aiogram_dialog import Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button, Cancel, SwitchTo

from dialogs.broadcast.getters import (
    audience_getter,
    categories_getter,
    content_getter,
    day_getter,
    regions_getter,
    roles_getter,
    stages_getter,
    when_getter,
)
from dialogs.broadcast.handlers import (
    on_audience_done,
    on_button,
    on_category,
    on_content,
    on_day,
    on_no_button,
    on_other,
    on_preview,
    on_region,
    on_role,
    on_schedule,
    on_send_now,
    on_stage,
    on_time,
    on_use_draft,
)
from dialogs.common.calendar import LocalizedCalendar
from dialogs.common.widgets import Tr, choices, crisis_button, on_not_text
from dialogs.states import BroadcastSG


def message_windows() -> list[Window]:
    return [
        Window(
            Tr(
                "<b>📣 New broadcast</b>\n\nSend the message: a text, or a photo or a document with a caption. "
                "Formatting: Telegram's own, or HTML like &lt;b&gt;bold&lt;/b&gt;."
            ),
            Tr("\n\nA text is ready:\n\n{draft}", when=F["has_draft"]),
            Button(Tr("✅ Use this text"), id="draft", on_click=on_use_draft, when=F["has_draft"]),
            MessageInput(on_content, content_types=[ContentType.TEXT, ContentType.PHOTO, ContentType.DOCUMENT]),
            MessageInput(on_other),
            Cancel(Tr("✖️ Cancel")),
            crisis_button(),
            getter=content_getter,
            state=BroadcastSG.content,
        ),
        Window(
            Tr(
                "Add a link button? Send its text and an https link on two lines, like:\n\nRead more\n"
                "https://example.org"
            ),
            MessageInput(on_button, content_types=[ContentType.TEXT]),
            MessageInput(on_not_text),
            Button(Tr("No button"), id="nobutton", on_click=on_no_button),
            SwitchTo(Tr("◀ Back"), id="content", state=BroadcastSG.content),
            crisis_button(),
            state=BroadcastSG.button,
        ),
    ]


def audience_windows() -> list[Window]:
    to_audience = SwitchTo(Tr("◀ Back"), id="aud", state=BroadcastSG.audience)
    return [
        Window(
            Tr(
                "<b>Who gets it?</b>\n\nRoles: {roles}\nRegions: {regions}\nCase stages: {stages}\n"
                "Subscribed to: {categories}\n\n<b>{count}</b> people will receive it."
            ),
            SwitchTo(Tr("👥 Roles"), id="roles", state=BroadcastSG.roles),
            SwitchTo(Tr("📍 Regions"), id="regions", state=BroadcastSG.regions, when=F["is_admin"]),
            SwitchTo(Tr("🔢 Case stages"), id="stages", state=BroadcastSG.stages),
            SwitchTo(Tr("🏷 Subscribed to"), id="category", state=BroadcastSG.category),
            Button(Tr("Next ▶"), id="next", on_click=on_audience_done),
            SwitchTo(Tr("◀ Back"), id="button", state=BroadcastSG.button),
            crisis_button(),
            getter=audience_getter,
            state=BroadcastSG.audience,
        ),
        Window(
            Tr("Which roles?"),
            choices("role", "items", on_role),
            to_audience,
            crisis_button(),
            getter=roles_getter,
            state=BroadcastSG.roles,
        ),
        Window(
            Tr("Which regions? None chosen: all regions."),
            choices("region", "items", on_region),
            to_audience,
            crisis_button(),
            getter=regions_getter,
            state=BroadcastSG.regions,
        ),
        Window(
            Tr("Which case stages (for participants and relatives)? None chosen: any."),
            choices("stage", "items", on_stage),
            to_audience,
            crisis_button(),
            getter=stages_getter,
            state=BroadcastSG.stages,
        ),
        Window(
            Tr("Only those subscribed to (none chosen: no such filter):"),
            choices("cat", "items", on_category),
            to_audience,
            crisis_button(),
            getter=categories_getter,
            state=BroadcastSG.category,
        ),
    ]


def time_windows() -> list[Window]:
    to_audience = SwitchTo(Tr("◀ Back"), id="aud", state=BroadcastSG.audience)
    return [
        Window(
            Tr("<b>Ready.</b> The preview is above.\n\n<b>{count}</b> people will receive it."),
            Tr("\nTime: {at}", when=F["scheduled"]),
            Button(Tr("📣 Send now"), id="now", on_click=on_send_now),
            SwitchTo(Tr("📅 Choose a time"), id="day", state=BroadcastSG.at_day),
            Button(Tr("✅ Send on {at}"), id="schedule", on_click=on_schedule, when=F["scheduled"]),
            Button(Tr("👁 Preview again"), id="preview", on_click=on_preview),
            to_audience,
            crisis_button(),
            getter=when_getter,
            state=BroadcastSG.when,
        ),
        Window(
            Tr("Which day? (times are in {zone})"),
            LocalizedCalendar(id="cal", on_click=on_day, days_ahead=180, zone_key="zone"),
            SwitchTo(Tr("◀ Back"), id="when", state=BroadcastSG.when),
            crisis_button(),
            getter=day_getter,
            state=BroadcastSG.at_day,
        ),
        Window(
            Tr("What time? Write it like 14:30."),
            MessageInput(on_time, content_types=[ContentType.TEXT]),
            MessageInput(on_not_text),
            SwitchTo(Tr("◀ Back"), id="day2", state=BroadcastSG.at_day),
            crisis_button(),
            state=BroadcastSG.at_time,
        ),
    ]

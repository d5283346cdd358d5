"""The catalog editor, window by window: region (admins choose) → need → entries → an entry's card →
typing a value → checking a new entry.
"""

from __future__ import annotations

from aiogram import F
from aiogram.types import ContentType
from aiogram_dialog import Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button, Cancel, Row, SwitchTo
from aiogram_dialog.widgets.text import Format, Multi

from dialogs.catalog.getters import (
    categories_getter,
    confirm_getter,
    entries_getter,
    entry_getter,
    regions_getter,
    value_getter,
)
from dialogs.catalog.handlers import (
    on_add,
    on_archive,
    on_category,
    on_clear,
    on_create,
    on_edit_field,
    on_entry,
    on_region,
    on_restore,
    on_tell,
    on_value,
    on_value_back,
)
from dialogs.common.widgets import Tr, choices, crisis_button, on_not_text
from dialogs.states import CatalogSG


def choice_windows() -> list[Window]:
    close = Cancel(Tr("✖️ Close"))
    return [
        Window(
            Tr("<b>📚 Support catalog</b>\n\nWhich region's entries?"),
            choices("creg", "regions", on_region),
            close,
            crisis_button(),
            getter=regions_getter,
            state=CatalogSG.region,
        ),
        Window(
            Tr("<b>📚 Support catalog</b> · {region_name}\n\nWhich need?"),
            choices("ccat", "categories", on_category),
            Row(
                SwitchTo(Tr("◀ Regions"), id="to_regions", state=CatalogSG.region, when=F["is_admin"]),
                close,
            ),
            crisis_button(),
            getter=categories_getter,
            state=CatalogSG.category,
        ),
        Window(
            Format("<b>{category_name}</b> · {region_name}", when=F["ok"]),
            Tr("Tap an entry to change it, or add a new one. 🗄 archived, ⌛ expired.", when=~F["empty"] & F["ok"]),
            Tr("Nothing here yet: add the first entry.", when=F["empty"]),
            Tr("This region is not available to you.", when=F["gone"]),
            choices("ent", "entries", on_entry, page=8),
            Button(Tr("➕ Add"), id="add", on_click=on_add, when=F["ok"]),
            Row(SwitchTo(Tr("◀ Back"), id="to_cats", state=CatalogSG.category), close),
            crisis_button(),
            getter=entries_getter,
            state=CatalogSG.entries,
        ),
    ]


def entry_windows() -> list[Window]:
    close = Cancel(Tr("✖️ Close"))
    to_entries = SwitchTo(Tr("◀ Back"), id="to_list", state=CatalogSG.entries)
    return [
        Window(
            Tr("This entry is not available to you.", when=F["gone"]),
            Multi(Format("<i>{head}</i>"), Format("{card}"), sep="\n\n", when=F["ok"]),
            Row(
                Button(Tr("✏️ Title"), id="e_title", on_click=on_edit_field),
                Button(Tr("✏️ Description"), id="e_description", on_click=on_edit_field),
                when=F["live"],
            ),
            Row(
                Button(Tr("✏️ Address"), id="e_address", on_click=on_edit_field),
                Button(Tr("✏️ Phone"), id="e_phone", on_click=on_edit_field),
                when=F["live"],
            ),
            Row(
                Button(Tr("✏️ Link"), id="e_url", on_click=on_edit_field),
                Button(Tr("✏️ Valid until"), id="e_valid_until", on_click=on_edit_field),
                when=F["live"],
            ),
            Button(Tr("📣 Tell those subscribed to this category"), id="tell", on_click=on_tell, when=F["saved"]),
            Button(Tr("🗄 Archive"), id="archive", on_click=on_archive, when=F["live"]),
            Button(Tr("↩️ Restore"), id="restore", on_click=on_restore, when=F["archived"]),
            Row(to_entries, close),
            crisis_button(),
            getter=entry_getter,
            state=CatalogSG.entry,
        ),
        Window(
            Tr("<b>New entry</b> · step {step} of {steps}", when=F["new"]),
            Format("{prompt}"),
            Tr("Now: {current}", when=F["has_current"]),
            MessageInput(on_value, content_types=[ContentType.TEXT]),
            MessageInput(on_not_text),
            Button(Tr("🧹 Clear"), id="clear", on_click=on_clear, when=F["can_clear"]),
            Button(Tr("Skip"), id="skip", on_click=on_clear, when=F["can_skip"]),
            Button(Tr("◀ Back"), id="value_back", on_click=on_value_back),
            crisis_button(),
            getter=value_getter,
            state=CatalogSG.value,
        ),
        Window(
            Tr("<b>Check, please</b> · {category_name} · {region_name}"),
            Format("{preview}"),
            Button(Tr("✅ Save"), id="save", on_click=on_create),
            Row(to_entries, close),
            crisis_button(),
            getter=confirm_getter,
            state=CatalogSG.confirm,
        ),
    ]

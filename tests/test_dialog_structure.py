"""Every screen of every flow carries the urgent-help button (the crisis screen is that help)."""

from aiogram_dialog import Dialog, Window
from aiogram_dialog.widgets.kbd import Start

import dialogs
from dialogs.states import CrisisSG


def _widgets(node):
    yield node
    for child in getattr(node, "buttons", ()) or ():
        yield from _widgets(child)


def test_every_window_has_the_crisis_button() -> None:
    router = dialogs.dialogs_router()
    missing, checked = [], 0
    for dialog in router.sub_routers:
        assert isinstance(dialog, Dialog)
        for state, window in dialog.windows.items():
            assert isinstance(window, Window)
            if state == CrisisSG.main:
                continue
            checked += 1
            starts = [w for w in _widgets(window.keyboard) if isinstance(w, Start)]
            if not any(w.widget_id == "sos" and w.state == CrisisSG.main for w in starts):
                missing.append(state.state)
    assert checked >= 12
    assert not missing, f"screens without the urgent-help button: {missing}"


def test_callback_data_fits_telegram() -> None:
    """aiogram_dialog's data is '<intent id>\\x1d<widget id>[:item]'; ids stay short."""
    router = dialogs.dialogs_router()
    for dialog in router.sub_routers:
        assert isinstance(dialog, Dialog)
        for window in dialog.windows.values():
            assert isinstance(window, Window)
            for widget in _widgets(window.keyboard):
                if getattr(widget, "widget_id", None):
                    assert len(widget.widget_id.encode()) <= 20, widget.widget_id


def test_dialog_ids_do_not_collide_within_a_second() -> None:
    from aiogram_dialog.api.entities.stack import new_id

    dialogs.dialogs_router()
    ids = [new_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    assert max(len(i) for i in ids) <= 9


def test_longest_button_data_fits_64_bytes() -> None:
    """Intent id + separator + the longest widget id and item (a region code of 32 characters)."""
    from aiogram_dialog.api.entities.stack import new_id

    dialogs.dialogs_router()
    longest = f"{new_id()}\x1dreg:{'r' * 32}"
    assert len(longest.encode()) <= 64

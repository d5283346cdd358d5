"""Small helpers the routers share."""

from __future__ import annotations

from aiogram_dialog import DialogManager, ShowMode, StartMode

from dialogs.states import CrisisSG, MenuSG


async def show_menu(dialog_manager: DialogManager) -> None:
    await dialog_manager.start(MenuSG.main, mode=StartMode.RESET_STACK, show_mode=ShowMode.SEND)


async def show_again_or_menu(dialog_manager: DialogManager) -> None:
    """Puts the current screen (or the menu) back under her eyes as a new message."""
    if dialog_manager.has_context():
        await dialog_manager.show(ShowMode.SEND)
    else:
        await show_menu(dialog_manager)


async def open_crisis(dialog_manager: DialogManager) -> None:
    """Over whatever she was doing, so "Back" returns her there; never stacked twice."""
    if dialog_manager.has_context() and dialog_manager.current_context().state == CrisisSG.main:
        await dialog_manager.show(ShowMode.SEND)
    else:
        await dialog_manager.start(CrisisSG.main, show_mode=ShowMode.SEND)

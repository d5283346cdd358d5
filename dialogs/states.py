"""State groups of every flow, in one place so flows can start each other without import cycles."""

from aiogram.fsm.state import State, StatesGroup


class MenuSG(StatesGroup):
    main = State()
    help = State()


class AboutSG(StatesGroup):
    intro = State()
    principles = State()
    safety = State()
    stages = State()
    who_sees = State()


class SupportSG(StatesGroup):
    categories = State()
    measures = State()


class CrisisSG(StatesGroup):
    main = State()


class SettingsSG(StatesGroup):
    main = State()
    language = State()


class RegionSG(StatesGroup):
    pick = State()


class PrivacySG(StatesGroup):
    main = State()
    confirm_delete = State()

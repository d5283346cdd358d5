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


class ConsentSG(StatesGroup):
    purpose = State()
    principles = State()
    next_steps = State()
    who_sees = State()
    data = State()
    participation = State()
    ask = State()
    agreed = State()
    declined = State()
    data_declined = State()
    asked = State()


class ProgrammeSG(StatesGroup):
    main = State()
    withdrawn = State()
    relatives = State()
    relative = State()


class CasesSG(StatesGroup):
    list = State()


class CaseSG(StatesGroup):
    card = State()
    people = State()
    person = State()
    relative_name = State()
    relative_relation = State()
    stage_pick = State()
    stage_reason = State()
    history = State()
    card_fields = State()  # the accounting card (issue 14)
    card_codes = State()
    card_input = State()
    close_result = State()
    close_reason = State()
    protocol = State()


class NewCaseSG(StatesGroup):
    first_name = State()
    region = State()
    release_date = State()
    parole = State()
    programme_type = State()
    curator = State()
    facilitator = State()
    confirm = State()


class InviteSG(StatesGroup):
    role = State()
    region = State()


class TeamMeetingsSG(StatesGroup):
    list = State()
    meeting = State()
    who = State()
    day = State()
    time = State()
    duration = State()
    format = State()
    place = State()
    confirm = State()


class MyMeetingsSG(StatesGroup):
    main = State()
    slots = State()
    other_time = State()
    option = State()


class HumanSG(StatesGroup):
    chat = State()


class AgreementSG(StatesGroup):
    items = State()
    text = State()
    who = State()
    when = State()
    due = State()
    until = State()
    consequences = State()
    confirm = State()


class MyAgreementsSG(StatesGroup):
    main = State()


class DisputeSG(StatesGroup):
    text = State()


class CatalogSG(StatesGroup):
    """Staff edit the support catalog (issue 7)."""

    region = State()
    category = State()
    entries = State()
    entry = State()
    field = State()
    value = State()
    confirm = State()


class SubscriptionsSG(StatesGroup):
    main = State()


class BroadcastSG(StatesGroup):
    """Staff compose and send a broadcast (issue 7)."""

    content = State()
    button = State()
    audience = State()
    roles = State()
    regions = State()
    stages = State()
    category = State()
    when = State()
    at_day = State()
    at_time = State()
    confirm = State()
    progress = State()

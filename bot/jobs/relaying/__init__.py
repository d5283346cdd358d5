"""The curator hand-off as Telegram sees it (``relay.py``: the outbox and the copies; ``room.py``: the
team's side; ``common.py``: what both share)."""

from bot.jobs.relaying.common import NUDGE_KIND, kind_of, mention, text_of
from bot.jobs.relaying.relay import SWEEP_AFTER, Relay, RelayLane
from bot.jobs.relaying.room import TeamRoom

__all__ = ["NUDGE_KIND", "SWEEP_AFTER", "Relay", "RelayLane", "TeamRoom", "kind_of", "mention", "text_of"]

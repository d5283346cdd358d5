"""How codes and records read to people, shared by the screens (``dialogs/``, ``handlers/``) and the
messages the bot sends on its own (``bot/jobs/``): gettext markers and the functions that word them.
Knows no Telegram update and no database session."""

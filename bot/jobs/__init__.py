"""The Telegram side of what the bot does on its own: the HTTP session and its retries, the one
sender and its lanes (reminders and notices, relayed messages, broadcasts), the pacer that keeps
Telegram's limits, the renderers that word a queued row at send time, the digests and the scheduled
jobs. Below the screens (``handlers/``, ``dialogs/``), above the domain (``bot/services/``)."""

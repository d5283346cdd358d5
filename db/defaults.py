"""The database when DATABASE_URL is not set (read by the settings and by Alembic's env, which must
not import the application's settings): a SQLite file beside the bot."""

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/bot.sqlite3"

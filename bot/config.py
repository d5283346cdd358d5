"""Typed settings, read once in ``main`` from the environment and ``.env``.

A missing or malformed value stops start-up with one line that names the variable
(see ``bot.__main__``); nothing here is built at import time.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cryptography.fernet import Fernet
from pydantic import AnyHttpUrl, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SUPPORTED_LOCALES = ("ru", "en")

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/bot.sqlite3"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr = Field(description="the bot's token from @BotFather, like 123456:ABC-DEF…")
    telegram_api_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("https://api.telegram.org"),
        description="base URL of the Bot API server, like http://127.0.0.1:8081",
    )
    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="an SQLAlchemy async URL: sqlite+aiosqlite:///path or postgresql+asyncpg://user:pass@host/db",
    )
    encryption_key: Annotated[list[SecretStr], NoDecode] = Field(
        description="one or more comma-separated Fernet keys (python -m bot keygen); the first encrypts",
    )
    pseudonym_key: SecretStr | None = Field(
        default=None,
        description="any long secret; keys the pseudonyms kept after a deletion (default: from ENCRYPTION_KEY)",
    )
    admin_ids: Annotated[list[int], NoDecode] = Field(
        default_factory=list, description="comma-separated numeric Telegram user ids, like 1234,5678"
    )
    curator_chat_id: int | None = Field(default=None, description="numeric id of the curators' supergroup")
    default_locale: Literal["ru", "en"] = Field(default="ru", description="ru or en")
    default_timezone: str = Field(default="Asia/Barnaul", description="an IANA time zone, like Asia/Barnaul")
    redis_url: str | None = Field(default=None, description="redis://host:port/db, for dialog state")
    webhook_url: AnyHttpUrl | None = Field(default=None, description="public https URL Telegram posts to")
    webhook_secret: SecretStr | None = Field(default=None, description="1-256 characters of A-Z, a-z, 0-9, _ and -")
    webhook_listen_host: str = Field(default="0.0.0.0", description="address the webhook server binds")
    webhook_listen_port: int = Field(default=8080, ge=1, le=65535, description="a port number, 1-65535")
    default_region: str = Field(
        default="altai_krai",
        description="region code shown to people who have not chosen one (a file in content/regions); empty for none",
    )
    telegram_timeout: float = Field(default=30.0, gt=0, le=300, description="seconds, like 30")
    telegram_retry_attempts: int = Field(
        default=5, ge=1, le=10, description="tries per Bot API call on 429, 5xx or network errors, 1-10"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="DEBUG, INFO, WARNING or ERROR"
    )
    content_dir: str = Field(
        default="content", description="folder with locales, regions, crisis words, surveys and quick replies"
    )
    invite_ttl_days: int = Field(default=30, ge=1, le=365, description="days an invitation link stays valid, 1-365")
    handoff_working_days: int = Field(
        default=2,
        ge=0,
        le=30,
        description="working days from the case's start (the court's decision on parole, else release) "
        "until it reaches the facilitator (stage 2), 0-30",
    )
    programme_min_working_days: int = Field(
        default=10, ge=0, le=120, description="earliest end of the programme, in working days from stage 2"
    )
    programme_max_working_days: int = Field(
        default=30, ge=1, le=120, description="working days from stage 2 until the general meeting is held (stage 4)"
    )
    report_working_days: int = Field(
        default=1, ge=0, le=30, description="working days from the general meeting to the report (stage 5)"
    )
    reminder_offsets_minutes: Annotated[list[int], NoDecode] = Field(
        default_factory=lambda: [1440, 120],
        description="comma-separated minutes before a meeting when reminders go out, like 1440,120",
    )
    work_hours: str = Field(
        default="09:00-18:00",
        pattern=r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$",
        description="HH:MM-HH:MM: when curators answer on working days, unless a region file sets work_hours",
    )
    handoff_nudge_minutes: int = Field(
        default=30, ge=1, le=1440, description="minutes without an answer in working hours before the topic is nudged"
    )
    history_retention_days: int = Field(
        default=180, ge=1, le=3650, description="days a conversation's history is kept after its case (or it) closes"
    )
    show_curator_name: bool = Field(
        default=True, description="true: a participant sees her curator's first name; false: only “your curator”"
    )
    group_messages_per_minute: int = Field(
        default=20, ge=1, le=30, description="messages per minute the bot sends to the curators' group (Telegram: ~20)"
    )
    checkin_days_before: int = Field(
        default=3, ge=0, le=30, description="days before a one-off item's day when the responsible person is reminded"
    )
    escalate_after_days: int = Field(
        default=3, ge=1, le=60, description="days an item may stay unkept before the curator is told at once"
    )
    digest_time: str = Field(
        default="09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="HH:MM in DEFAULT_TIMEZONE, like 09:00"
    )
    reminder_poll_seconds: float = Field(
        default=60,
        ge=1,
        le=300,
        description="the longest the sender sleeps when nothing is due (it wakes at due times and when "
        "something is queued), 1-300 seconds",
    )
    reminder_max_attempts: int = Field(
        default=5, ge=1, le=20, description="tries per reminder before it is given up, 1-20"
    )
    reminder_lease_seconds: int = Field(
        default=300,
        ge=30,
        le=3600,
        description="seconds after which a reminder claimed by an instance that died is sent again, 30-3600",
    )
    send_rate_per_second: float = Field(
        default=25,
        ge=1,
        le=30,
        description="messages a second the bot sends on its own at most, overall (reminders, notices), 1-30",
    )
    shared_send_limits: bool | None = Field(
        default=None,
        description="true: Telegram's limits are kept together by every instance on the database (table "
        "send_pace: one row overall, one per recent chat); false: each instance keeps its own; empty: on "
        "with PostgreSQL, off with SQLite (one instance)",
    )
    inbox_lease_seconds: int = Field(
        default=60,
        ge=2,
        le=600,
        description="seconds an update being handled stays with its instance; after a crash another "
        "(or the next start) handles it once this has passed, 2-600",
    )
    survey_expire_days: int = Field(
        default=14, ge=1, le=90, description="days a feedback survey stays open after it is sent, 1-90"
    )
    broadcast_rate_per_second: float = Field(
        default=25, ge=1, le=30, description="messages a second a broadcast sends at most, overall, 1-30"
    )
    broadcast_lease_seconds: int = Field(
        default=60,
        ge=5,
        le=3600,
        description="seconds after which a broadcast message claimed by an instance that died is sent again, 5-3600",
    )

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value()
        head, sep, tail = raw.partition(":")
        if not (sep and head.isdigit() and tail and " " not in raw):
            raise ValueError("expected the token from @BotFather, like 123456:ABC-DEF…")
        return value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            if not all(p.lstrip("-").isdigit() for p in parts):
                raise ValueError("expected comma-separated numeric Telegram user ids, like 1234,5678")
            return [int(p) for p in parts]
        return value

    @field_validator("reminder_offsets_minutes", mode="before")
    @classmethod
    def _split_offsets(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            if not parts or not all(p.isdigit() and 0 < int(p) <= 20160 for p in parts):
                raise ValueError("expected comma-separated minutes between 1 and 20160, like 1440,120")
            return sorted({int(p) for p in parts}, reverse=True)
        return value

    @field_validator("encryption_key", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            keys = [k.strip() for k in value.split(",") if k.strip()]
            if not keys:
                raise ValueError("expected a Fernet key (python -m bot keygen)")
            return keys
        return value

    @field_validator("encryption_key")
    @classmethod
    def _valid_fernet(cls, value: list[SecretStr]) -> list[SecretStr]:
        for key in value:
            try:
                Fernet(key.get_secret_value())
            except (ValueError, TypeError):
                raise ValueError("expected a Fernet key: 32 url-safe base64 bytes (python -m bot keygen)") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        scheme = value.split("://", 1)[0]
        if scheme not in {"sqlite+aiosqlite", "postgresql+asyncpg"}:
            raise ValueError("expected sqlite+aiosqlite:///path or postgresql+asyncpg://user:pass@host/db")
        return value

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("expected an IANA time zone, like Asia/Barnaul") from None
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        raw = value.get_secret_value()
        if not (1 <= len(raw) <= 256 and all(c.isascii() and (c.isalnum() or c in "_-") for c in raw)):
            raise ValueError("expected 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.webhook_url is not None and self.webhook_secret is None:
            raise ValueError("WEBHOOK_SECRET: required when WEBHOOK_URL is set (1-256 of A-Z, a-z, 0-9, _ -)")
        return self

    @model_validator(mode="after")
    def _programme_window(self) -> Settings:
        if self.programme_min_working_days > self.programme_max_working_days:
            raise ValueError("PROGRAMME_MIN_WORKING_DAYS: must not exceed PROGRAMME_MAX_WORKING_DAYS")
        return self

    @property
    def reminder_offsets(self) -> tuple[int, ...]:
        return tuple(self.reminder_offsets_minutes)

    @property
    def digest_hour_minute(self) -> tuple[int, int]:
        hour, minute = self.digest_time.split(":")
        return int(hour), int(minute)

    @property
    def webhook_path(self) -> str:
        assert self.webhook_url is not None
        return urlparse(str(self.webhook_url)).path or "/"

    @property
    def fernet_keys(self) -> list[str]:
        return [k.get_secret_value() for k in self.encryption_key]


class ConfigurationError(ValueError):
    """A setting that is well-formed but does not fit the rest (the content, another setting).
    Its message names the variable, like a validation error."""


def describe_error(exc: Exception) -> str:
    """One line naming the variable at fault and what it expects; never echoes a secret."""
    if not isinstance(exc, ValidationError):
        return f"configuration error: {type(exc).__name__}"
    lines = []
    for err in exc.errors(include_input=False, include_url=False):
        loc = err.get("loc") or ()
        if loc:
            name = str(loc[0]).upper()
            field = Settings.model_fields.get(str(loc[0]))
            expected = field.description if field is not None else ""
            if err["type"] == "missing":
                lines.append(f"{name}: required, {expected}")
            else:
                msg = err["msg"].removeprefix("Value error, ")
                lines.append(f"{name}: {msg}" if "expected" in msg else f"{name}: {msg}; {expected}")
        else:
            lines.append(err["msg"].removeprefix("Value error, "))
    return "configuration error: " + "; ".join(lines)

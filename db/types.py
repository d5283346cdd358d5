"""Column types shared by every model.

``EncryptedText`` / ``EncryptedJSON`` are the one way to store personal free text: the value is
encrypted with Fernet (AES-128-CBC + HMAC) before it reaches the database, so a dump or a backup
leaks nothing readable. Keys come from ``ENCRYPTION_KEY``; ``configure_encryption`` is called by
the composition root before the first query. Several keys may be given: the first encrypts, all
decrypt, which is how a key is rotated.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import DateTime, Text
from sqlalchemy.types import TypeDecorator

_cipher: MultiFernet | None = None


class EncryptionNotConfigured(RuntimeError):
    pass


class Undecryptable(ValueError):
    """A stored value that none of the configured keys opens (a lost key, or a tampered row)."""


def configure_encryption(keys: list[str]) -> None:
    global _cipher
    _cipher = MultiFernet([Fernet(k) for k in keys])
    if _pseudonym_key is None and keys:
        configure_pseudonyms(keys[0])


_pseudonym_key: bytes | None = None


def configure_pseudonyms(key: str) -> None:
    """The key of ``pseudonym``: ``PSEUDONYM_KEY``, else derived from the first ``ENCRYPTION_KEY``.
    It is never stored in the database, so a pseudonym cannot be turned back from a dump."""
    global _pseudonym_key
    _pseudonym_key = hashlib.sha256(b"pseudonym\x00" + key.encode("utf-8")).digest()


def pseudonym(user_id: int) -> int:
    """What stays of a Telegram id after "delete my data": a keyed hash (HMAC-SHA256) folded into a
    negative 60-bit number, so it fits the same BIGINT columns and never equals a Telegram user id
    (those are positive). The same person always gets the same pseudonym, so her given and withdrawn
    consents still read as one person's; without the key nobody can tell whose it is."""
    if _pseudonym_key is None:
        raise EncryptionNotConfigured("configure_pseudonyms() must run before a pseudonym is made")
    digest = hmac.new(_pseudonym_key, str(user_id).encode("ascii"), hashlib.sha256).digest()
    return -(int.from_bytes(digest[:8], "big") >> 4) - 1


def _get_cipher() -> MultiFernet:
    if _cipher is None:
        raise EncryptionNotConfigured("configure_encryption() must run before encrypted columns are used")
    return _cipher


def encrypt(plain: str) -> str:
    return _get_cipher().encrypt(plain.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _get_cipher().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken as exc:  # wrong key or tampered row: never hand back garbage
        raise Undecryptable("an encrypted value could not be decrypted with the configured keys") from exc


class EncryptedText(TypeDecorator[str]):
    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else encrypt(value)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else decrypt(value)


class EncryptedJSON(TypeDecorator[Any]):
    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return encrypt(json.dumps(value, ensure_ascii=False, separators=(",", ":")))

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        return None if value is None else json.loads(decrypt(value))


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both backends (SQLite hands back naive values otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

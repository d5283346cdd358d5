"""Configuration errors stop start-up with one line naming the variable, exit code 2."""

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from bot import __main__ as bot_main
from bot.config import Settings
from tests.conftest import TEST_KEY

ROOT = Path(__file__).resolve().parent.parent
KEY = Fernet.generate_key().decode()
GOOD = {"BOT_TOKEN": "123:abc", "ENCRYPTION_KEY": KEY}
SUITE = {"BOT_TOKEN": "123:abc", "ENCRYPTION_KEY": TEST_KEY}  # for main() in this process


def run_bot(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.isupper() or k in {"PATH", "HOME", "LANG"}}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT / "tests",
        env={**clean, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "variable", "expects"),
    [
        ({}, "BOT_TOKEN", "required"),
        ({**GOOD, "BOT_TOKEN": "not-a-token"}, "BOT_TOKEN", "@BotFather"),
        ({"BOT_TOKEN": "123:abc"}, "ENCRYPTION_KEY", "keygen"),
        ({**GOOD, "ENCRYPTION_KEY": "short"}, "ENCRYPTION_KEY", "Fernet"),
        ({**GOOD, "ADMIN_IDS": "12,abc"}, "ADMIN_IDS", "numeric"),
        ({**GOOD, "DATABASE_URL": "mysql://x"}, "DATABASE_URL", "postgresql+asyncpg"),
        ({**GOOD, "DEFAULT_TIMEZONE": "Mars/Olympus"}, "DEFAULT_TIMEZONE", "IANA"),
        ({**GOOD, "DEFAULT_LOCALE": "de"}, "DEFAULT_LOCALE", "ru"),
        ({**GOOD, "TELEGRAM_API_URL": "not a url"}, "TELEGRAM_API_URL", "http"),
        ({**GOOD, "CURATOR_CHAT_ID": "group"}, "CURATOR_CHAT_ID", ""),
        ({**GOOD, "WEBHOOK_URL": "https://example.org/tg"}, "WEBHOOK_SECRET", "required"),
        (
            {**GOOD, "WEBHOOK_URL": "https://example.org/tg", "WEBHOOK_SECRET": "bad secret!"},
            "WEBHOOK_SECRET",
            "A-Z",
        ),
    ],
)
def test_bad_setting_is_named_in_one_line(env: dict[str, str], variable: str, expects: str) -> None:
    result = run_bot(env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]
    assert expects in lines[0]
    assert "Traceback" not in result.stderr
    assert KEY not in result.stderr


def main_in_process(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    """``python -m bot``'s ``main()`` with only ``env`` set, in this process: its exit code and stderr.
    Its encryption key must be the suite's (``build`` configures the process's keys before it reads
    content/); should it get past the content, it is stopped before it serves."""
    for name in [k for k in os.environ if k.isupper() and k not in {"PATH", "HOME", "LANG"}]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(ROOT / "tests")

    def started(coroutine: Any) -> None:
        coroutine.close()
        raise AssertionError("the bot started: the content was accepted")

    monkeypatch.setattr(bot_main.asyncio, "run", started)
    capsys.readouterr()
    code = bot_main.main([])
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("env", "variable", "expects"),
    [
        ({**SUITE, "DEFAULT_REGION": "altai"}, "DEFAULT_REGION", "altai_krai"),
        ({**SUITE, "CONTENT_DIR": "/nonexistent"}, "CONTENT_DIR", "locales/"),
    ],
)
def test_content_that_does_not_fit_is_named_in_one_line(
    env: dict[str, str],
    variable: str,
    expects: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # In this process: a new one would spend seconds importing aiogram before it reads content/; the
    # broken region file below goes through a process of its own.
    code, stderr = main_in_process({"CONTENT_DIR": str(ROOT / "content"), **env}, monkeypatch, capsys)
    assert code == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0] and expects in lines[0], stderr


def test_a_broken_region_file_is_named(tmp_path: Path) -> None:
    import shutil

    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    (content / "regions" / "altai_krai.yaml").write_text("code: altai_krai\nname: {ru: x}\n", encoding="utf-8")
    result = run_bot({**GOOD, "CONTENT_DIR": str(content)})
    assert result.returncode == 2
    assert "CONTENT_DIR" in result.stderr and "altai_krai.yaml" in result.stderr
    assert "Traceback" not in result.stderr


def test_keygen_prints_a_usable_key() -> None:
    result = run_bot({}, "keygen")
    assert result.returncode == 0
    Fernet(result.stdout.strip().encode())


def test_unknown_subcommand() -> None:
    result = run_bot(GOOD, "dance")
    assert result.returncode == 2
    assert "usage" in result.stderr


def test_lists_and_defaults() -> None:
    s = Settings(
        _env_file=None,
        bot_token="1:a",
        encryption_key=f"{KEY}, {Fernet.generate_key().decode()}",
        admin_ids="1, 2,3",
    )
    assert s.admin_ids == [1, 2, 3]
    assert len(s.fernet_keys) == 2
    assert s.default_locale == "ru"
    assert s.default_timezone == "Asia/Barnaul"
    assert s.database_url.startswith("sqlite+aiosqlite")
    assert s.webhook_url is None


def test_webhook_path() -> None:
    s = Settings(
        _env_file=None,
        bot_token="1:a",
        encryption_key=KEY,
        webhook_url="https://bot.example.org/tg/hook",
        webhook_secret="s3cret",
    )
    assert s.webhook_path == "/tg/hook"

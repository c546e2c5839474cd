"""Settings: defaults, every STANDBY_* variable, bad values, the generated secret key."""

from __future__ import annotations

import dataclasses
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from standby.config import SETTINGS, Settings, ensure_secret_key
from standby.errors import ConfigError

KEY = "k" * 40


class RecordingEnv(Mapping[str, str]):
    """An environment that remembers which variables were asked for."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.asked: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        return self.values[key]

    def get(self, key: str, default: object = None):  # type: ignore[override]
        self.asked.add(key)
        return self.values.get(key, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.data_dir == Path("data")
    assert settings.database_url == f"sqlite+pysqlite:///{Path('data/standby.db').absolute()}"
    assert settings.plan_path is None
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.secret_key is None and settings.admin_password is None
    assert settings.smtp_url is None and settings.sms_url is None
    assert settings.base_url == "http://127.0.0.1:8080"


def test_every_variable_is_read(tmp_path: Path) -> None:
    env = {
        "STANDBY_DATABASE_URL": "postgresql://standby:pw@db.example:5432/standby",
        "STANDBY_DATA_DIR": str(tmp_path),
        "STANDBY_PLAN": "plan.yaml",
        "STANDBY_HOST": "0.0.0.0",
        "STANDBY_PORT": "9000",
        "STANDBY_SECRET_KEY": KEY,
        "STANDBY_ADMIN_PASSWORD": "first admin password",
        "STANDBY_SMTP_URL": "smtp://127.0.0.1:1025",
        "STANDBY_SMTP_FROM": "Standby <standby@example.org>",
        "STANDBY_SMS_URL": "https://sms.example/send",
        "STANDBY_SMS_FROM": "Northwind",
        "STANDBY_PUBLIC_URL": "https://standby.example.org/",
    }
    settings = Settings.from_env(env)
    assert settings == Settings(
        database_url="postgresql+psycopg://standby:pw@db.example:5432/standby",
        data_dir=tmp_path,
        plan_path=Path("plan.yaml"),
        host="0.0.0.0",
        port=9000,
        secret_key=KEY,
        admin_password="first admin password",
        smtp_url="smtp://127.0.0.1:1025",
        smtp_from="Standby <standby@example.org>",
        sms_url="https://sms.example/send",
        sms_from="Northwind",
        public_url="https://standby.example.org",
    )
    assert settings.base_url == "https://standby.example.org"
    shown = repr(settings)
    assert KEY not in shown and "first admin password" not in shown and ":pw@" not in shown
    assert "port=9000" in shown and "standby:***@db.example" in shown


def test_the_data_dir_moves_the_default_database(tmp_path: Path) -> None:
    settings = Settings.from_env({"STANDBY_DATA_DIR": str(tmp_path / "d")})
    assert settings.database_url == f"sqlite+pysqlite:///{tmp_path / 'd' / 'standby.db'}"


def test_empty_variables_count_as_unset() -> None:
    assert Settings.from_env({"STANDBY_PLAN": "", "STANDBY_PORT": "  "}) == Settings.from_env({})


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("STANDBY_PORT", "abc", "port number"),
        ("STANDBY_PORT", "70000", "port number"),
        ("STANDBY_DATABASE_URL", "mysql://db/standby", "unsupported database"),
        ("STANDBY_DATABASE_URL", "nonsense", "not a database URL"),
        ("STANDBY_SMTP_URL", "http://mail", "smtp://"),
        ("STANDBY_SMTP_URL", "smtp://mail:port", "port"),
        ("STANDBY_SMS_URL", "ftp://sms", "https://"),
        ("STANDBY_PUBLIC_URL", "standby.example.org", "https://"),
        ("STANDBY_SMTP_FROM", "standby", "email address"),
        ("STANDBY_SECRET_KEY", "short", "at least 32"),
        ("STANDBY_ADMIN_PASSWORD", "admin", "too short"),
    ],
)
def test_bad_values_name_the_variable(variable: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        Settings.from_env({variable: value})
    assert str(caught.value).startswith(variable)


@pytest.mark.parametrize(
    ("variable", "value", "secret"),
    [
        ("STANDBY_SECRET_KEY", "tooshort", "tooshort"),
        ("STANDBY_ADMIN_PASSWORD", "pass1", "pass1"),
        ("STANDBY_DATABASE_URL", "mysql://u:hunter22@db/standby", "hunter22"),
        ("STANDBY_SMTP_URL", "http://u:hunter22@mail", "hunter22"),
    ],
)
def test_errors_never_echo_secrets(variable: str, value: str, secret: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({variable: value})
    assert secret not in str(caught.value)


def test_every_setting_is_documented() -> None:
    fields = [f.name for f in dataclasses.fields(Settings)]
    assert sorted(doc.name for doc in SETTINGS) == sorted(fields)
    for doc in SETTINGS:
        assert doc.env == "STANDBY_" + doc.env.removeprefix("STANDBY_").upper()
        assert doc.help.endswith(".") and doc.default
    assert len({doc.env for doc in SETTINGS}) == len(SETTINGS)


def test_only_documented_variables_are_read() -> None:
    env = RecordingEnv({"HOME": "/root"})
    Settings.from_env(env)
    assert env.asked == {doc.env for doc in SETTINGS}


def test_a_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    settings = Settings.from_env({"STANDBY_DATA_DIR": str(tmp_path / "data")})
    first = ensure_secret_key(settings)
    assert first.secret_key is not None and len(first.secret_key) >= 32
    key_file = tmp_path / "data" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert ensure_secret_key(settings).secret_key == first.secret_key
    assert ensure_secret_key(first) is first


def test_a_given_secret_key_is_used_and_nothing_is_written(tmp_path: Path) -> None:
    settings = Settings.from_env({"STANDBY_DATA_DIR": str(tmp_path / "data"), "STANDBY_SECRET_KEY": KEY})
    assert ensure_secret_key(settings).secret_key == KEY
    assert not (tmp_path / "data").exists()


def test_a_damaged_key_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("\n")
    with pytest.raises(ConfigError, match="delete it"):
        ensure_secret_key(Settings.from_env({"STANDBY_DATA_DIR": str(tmp_path)}))

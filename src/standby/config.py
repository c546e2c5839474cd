"""Settings: the STANDBY_* environment variables, checked once, held in a frozen record.

Every setting is listed in `SETTINGS` with its variable, default and help text, so the
operations guide and a test can check that none is undocumented. Nothing here runs at
import time: `Settings.from_env()` reads the environment when an edge (the CLI, the
server) asks, and `ensure_secret_key()` is the one function that touches the disk.

Relative paths (`STANDBY_DATA_DIR`, `STANDBY_PLAN`) are relative to the working
directory of the process; the default data directory is `./data`.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from standby.access.roles import MIN_PASSWORD_LENGTH
from standby.errors import ConfigError
from standby.store.engine import normalise_database_url

SECRET_KEY_FILE = "secret_key"
MIN_SECRET_KEY_LENGTH = 32
DEFAULT_DATA_DIR = Path("data")
_URL_PASSWORD = re.compile(r"(://[^/@:]*:)[^/@]*@")


@dataclass(frozen=True, repr=False)
class Settings:
    """Where Standby keeps its data, where it listens, and how it reaches the outside world."""

    database_url: str
    data_dir: Path = DEFAULT_DATA_DIR
    plan_path: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    # None until ensure_secret_key() fills it from the data directory.
    secret_key: str | None = None
    admin_password: str | None = None
    smtp_url: str | None = None
    smtp_from: str | None = None
    sms_url: str | None = None
    sms_from: str | None = None
    sms_style: str = "twilio"
    webhook_secret: str | None = None
    public_url: str | None = None
    worker_concurrency: int = 256
    check_retention_hours: float = 72.0
    worker_lease_s: float = 6.0
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    metrics_address: tuple[str, int] | None = None
    status_dir: Path | None = None
    forecast_cpu: float = 0.5
    access_log: bool = True

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and check every STANDBY_* variable; a bad value raises ConfigError naming it.

        An empty variable counts as unset, so `STANDBY_PLAN=` in a unit file means no plan.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for doc in SETTINGS:
            raw = env.get(doc.env, "").strip()
            if not raw:
                continue
            try:
                values[doc.name] = doc.parse(raw)
            except (ValueError, ConfigError) as exc:
                raise ConfigError(f"{doc.env}{_shown(doc, raw)}: {exc}") from None
        if "database_url" not in values:
            data_dir: Path = values.get("data_dir", DEFAULT_DATA_DIR)
            values["database_url"] = default_database_url(data_dir)
        return cls(**values)

    def __repr__(self) -> str:
        # Settings get logged; the repr hides secrets and passwords inside URLs.
        hidden = {doc.name for doc in SETTINGS if doc.secret}
        shown = ", ".join(
            f"{f.name}=<hidden>"
            if f.name in hidden and getattr(self, f.name) is not None
            else f"{f.name}={_mask(getattr(self, f.name))!r}"
            for f in dataclasses.fields(self)
        )
        return f"Settings({shown})"

    @property
    def base_url(self) -> str:
        """The address links in messages point to: STANDBY_PUBLIC_URL, else host and port."""
        if self.public_url:
            return self.public_url
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def default_database_url(data_dir: Path) -> str:
    """The SQLite file `standby.db` in the data directory, as an absolute SQLAlchemy URL."""
    # Absolute, so a later chdir (a daemon, a test) cannot point the server at another file.
    return f"sqlite+pysqlite:///{(data_dir / 'standby.db').absolute()}"


def ensure_secret_key(settings: Settings) -> Settings:
    """Settings with a secret key: the one given, else the one kept in DATA_DIR/secret_key.

    The key is generated on first use and written with mode 0600, so a restart keeps
    sessions and signed links valid. Several servers behind a load balancer must share
    one key: set STANDBY_SECRET_KEY on each of them.
    """
    if settings.secret_key:
        return settings
    path = settings.data_dir / SECRET_KEY_FILE
    try:
        settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = _read_or_create_key(path)
    except OSError as exc:
        raise ConfigError(f"cannot keep the secret key in {path}: {exc.strerror}") from None
    return dataclasses.replace(settings, secret_key=key)


def _read_or_create_key(path: Path) -> str:
    key = secrets.token_urlsafe(48)
    try:
        # O_EXCL: when two processes start at once, one writes and the other reads its key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        existing = path.read_text(encoding="utf-8").strip()
        if len(existing) < MIN_SECRET_KEY_LENGTH:
            raise ConfigError(
                f"{path} holds no usable secret key (fewer than {MIN_SECRET_KEY_LENGTH}"
                " characters); delete it to have a new one generated, or set STANDBY_SECRET_KEY"
            ) from None
        return existing
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return key


def _shown(doc: SettingDoc, raw: str) -> str:
    # Error messages end up in logs: never echo a secret, nor a password inside a URL.
    if doc.secret:
        return " (value hidden)"
    return "=" + repr(_mask(raw))


def _mask(value: object) -> object:
    return _URL_PASSWORD.sub(r"\1***@", value) if isinstance(value, str) else value


def _port(raw: str) -> int:
    try:
        port = int(raw)
    except ValueError:
        raise ValueError("expected a port number between 1 and 65535") from None
    if not 1 <= port <= 65535:
        raise ValueError("expected a port number between 1 and 65535")
    return port


def _url(schemes: tuple[str, ...]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        parts = urlsplit(raw)
        if parts.scheme.lower() not in schemes or not parts.hostname:
            raise ValueError(f"expected a URL such as {schemes[0]}://host[:port]/...")
        try:
            parts.port  # noqa: B018 - urlsplit checks the port only when it is read
        except ValueError:
            raise ValueError("the port in the URL is not a number between 0 and 65535") from None
        return raw.rstrip("/") if schemes[0].startswith("http") else raw

    return parse


def _address(raw: str) -> str:
    _, address = parseaddr(raw)
    if "@" not in address:
        raise ValueError("expected an email address, such as 'Standby <standby@example.org>'")
    return raw


def _secret(raw: str) -> str:
    if len(raw) < MIN_SECRET_KEY_LENGTH:
        raise ValueError(
            f"the key is too short: use at least {MIN_SECRET_KEY_LENGTH} random characters,"
            " such as the output of: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    return raw


def _admin_password(raw: str) -> str:
    if len(raw) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"the password is too short: use at least {MIN_PASSWORD_LENGTH} characters")
    return raw


def _text(raw: str) -> str:
    return raw


def _sms_style(raw: str) -> str:
    style = raw.strip().lower()
    if style not in ("twilio", "json"):
        raise ValueError("expected twilio (a form with To, From, Body) or json")
    return style


def _webhook_secret(raw: str) -> str:
    if len(raw) < 16:
        raise ValueError("the secret is too short: use at least 16 random characters")
    return raw


def _whole(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"expected a whole number between {low} and {high}") from None
        if not low <= value <= high:
            raise ValueError(f"expected a whole number between {low} and {high}")
        return value

    return parse


def _networks(raw: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    found = []
    for part in raw.split(","):
        item = part.strip()
        if not item:
            continue
        try:
            found.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(
                f"{item[:60]!r} is not an IP address or network; list them separated by commas,"
                " such as 10.0.0.5, 10.1.0.0/16"
            ) from None
    return tuple(found)


def _host_and_port(raw: str) -> tuple[str, int]:
    host, colon, port = raw.rpartition(":")
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]  # [::1]:9464
    if not colon or not host or any(c.isspace() for c in host):
        raise ValueError("expected HOST:PORT, such as 127.0.0.1:9464 or [::1]:9464")
    return host, _port(port.strip())


def _lease(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("expected a number of seconds, such as 20") from None
    if not 1 <= value <= 300:
        raise ValueError("expected a number of seconds between 1 and 300")
    return value


def _cpu_share(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("expected a share of one core, such as 0.5") from None
    if not 0.05 <= value <= 1:
        raise ValueError("expected a share of one core between 0.05 and 1")
    return value


def _hours(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("expected a number of hours, such as 72") from None
    if not 1 <= value <= 24 * 366:
        raise ValueError("expected a number of hours between 1 and 8784 (a year)")
    return value


def _switch(value: str) -> bool:
    """on/off, true/false, yes/no, 1/0."""
    word = value.strip().lower()
    if word in ("on", "true", "yes", "1"):
        return True
    if word in ("off", "false", "no", "0"):
        return False
    raise ValueError("use on or off")


@dataclass(frozen=True)
class SettingDoc:
    """One setting: its variable, the Settings field it fills, its default and help text."""

    env: str
    name: str
    default: str
    help: str
    parse: Callable[[str], Any] = dataclasses.field(default=_text, repr=False, compare=False)
    secret: bool = False


SETTINGS: list[SettingDoc] = [
    SettingDoc(
        "STANDBY_DATABASE_URL",
        "database_url",
        "SQLite file standby.db in STANDBY_DATA_DIR",
        "The database: sqlite:///PATH for one machine, or postgresql://USER:PASSWORD@HOST/DB"
        " for several servers and workers.",
        normalise_database_url,
    ),
    SettingDoc(
        "STANDBY_DATA_DIR",
        "data_dir",
        "./data (relative to the working directory)",
        "Where Standby keeps its SQLite database and generated secret key.",
        Path,
    ),
    SettingDoc(
        "STANDBY_PLAN",
        "plan_path",
        "none",
        "The continuity plan (YAML) that `standby serve` loads at start.",
        Path,
    ),
    SettingDoc("STANDBY_HOST", "host", "127.0.0.1", "The address the web server listens on."),
    SettingDoc("STANDBY_PORT", "port", "8080", "The port the web server listens on.", _port),
    SettingDoc(
        "STANDBY_SECRET_KEY",
        "secret_key",
        "generated once and kept in DATA_DIR/secret_key",
        "Signs sessions and links; at least 32 characters. Set the same key on every server"
        " behind a load balancer.",
        _secret,
        secret=True,
    ),
    SettingDoc(
        "STANDBY_ADMIN_PASSWORD",
        "admin_password",
        "generated and printed once",
        "The password of the first user, `admin`, created when no administrator exists.",
        _admin_password,
        secret=True,
    ),
    SettingDoc(
        "STANDBY_SMTP_URL",
        "smtp_url",
        "none (email is not sent)",
        "The mail server, such as smtp://127.0.0.1:1025 or smtps://user:password@mail.example.",
        _url(("smtp", "smtps")),
    ),
    SettingDoc(
        "STANDBY_SMTP_FROM",
        "smtp_from",
        "none",
        "The sender of Standby's email, such as 'Standby <standby@example.org>'.",
        _address,
    ),
    SettingDoc(
        "STANDBY_SMS_URL",
        "sms_url",
        "none (SMS is not sent)",
        "The SMS gateway's HTTP endpoint.",
        _url(("https", "http")),
    ),
    SettingDoc(
        "STANDBY_SMS_FROM",
        "sms_from",
        "none",
        "The sender id or number that SMS messages come from.",
    ),
    SettingDoc(
        "STANDBY_SMS_STYLE",
        "sms_style",
        "twilio",
        'How SMS are posted: twilio (a form with To, From and Body) or json ({"to", "from", "body"}).',
        _sms_style,
    ),
    SettingDoc(
        "STANDBY_WEBHOOK_SECRET",
        "webhook_secret",
        "derived from STANDBY_SECRET_KEY",
        "The key that signs generic webhooks (HMAC-SHA256); at least 16 characters.",
        _webhook_secret,
        secret=True,
    ),
    SettingDoc(
        "STANDBY_PUBLIC_URL",
        "public_url",
        "http://HOST:PORT",
        "The address that links in messages point to, such as https://standby.example.org.",
        _url(("https", "http")),
    ),
    SettingDoc(
        "STANDBY_WORKER_CONCURRENCY",
        "worker_concurrency",
        "256",
        "How many checks one worker runs at once; the rest wait their turn.",
        _whole(1, 10_000),
    ),
    SettingDoc(
        "STANDBY_CHECK_RETENTION_HOURS",
        "check_retention_hours",
        "72",
        "How long each check result is kept; outages and state changes are kept regardless.",
        _hours,
    ),
    SettingDoc(
        "STANDBY_WORKER_LEASE_S",
        "worker_lease_s",
        "6",
        "How long a worker holds its probes without renewing: a killed worker's probes are"
        " checked again by another within this and a quarter of it (7.5 s by default).",
        _lease,
    ),
    SettingDoc(
        "STANDBY_TRUSTED_PROXIES",
        "trusted_proxies",
        "none (the client is the socket's peer)",
        "The reverse proxies and load balancers (IP addresses or networks, comma-separated)"
        " whose X-Forwarded-For names the client; login limits count per client address.",
        _networks,
    ),
    SettingDoc(
        "STANDBY_METRICS_ADDRESS",
        "metrics_address",
        "none (only GET /metrics, with a login)",
        "An address of its own, such as 127.0.0.1:9464, where the Prometheus metrics are served"
        " without a login; bind it to a loopback or private address.",
        _host_and_port,
    ),
    SettingDoc(
        "STANDBY_STATUS_DIR",
        "status_dir",
        "none (served from memory only)",
        "A folder the public status page's files are written to after each change, for a web"
        " server or CDN to serve beside Standby.",
        Path,
    ),
    SettingDoc(
        "STANDBY_FORECAST_CPU", "forecast_cpu", "0.5",
        "The share of one core the forecaster may use (0.05 to 1): it rests between replications"
        " to keep to it and, below 1, runs at a lower priority than the web app and the worker.",
        _cpu_share,
    ),
    SettingDoc(
        "STANDBY_ACCESS_LOG", "access_log", "on",
        "Whether `standby serve` logs a line per request (on or off). Off lets one process answer"
        " about 1.6 times the requests to /status under a surge; the request metrics count them anyway.",
        _switch,
    ),
]

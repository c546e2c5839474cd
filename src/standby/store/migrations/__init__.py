"""Schema migrations (Alembic), run from code: no alembic.ini is needed.

`upgrade(engine)` brings a database to the newest revision and is safe to call at every
start; `current_revision(engine)` tells where a database stands. To write a new
migration, add a file to `versions/` by hand, or let Alembic draft one against a
database at head and check it::

    from alembic import command
    from standby.store.engine import make_engine
    from standby.store.migrations import alembic_config
    engine = make_engine("sqlite:///data/standby.db")
    with engine.begin() as conn:
        command.revision(alembic_config(conn), message="...", autogenerate=True,
                         rev_id="0002")
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from standby.errors import StorageError

SCRIPT_LOCATION = Path(__file__).parent
# Any fixed number will do: it only has to be the same in every Standby process.
_MIGRATION_LOCK_KEY = 0x5742_0001


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration for this package's migrations, bound to `connection`."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision this version of Standby knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships 0001
        raise StorageError("no migrations found in the package")
    return head


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest revision; a no-op when it is already there.

    On PostgreSQL an advisory lock makes servers that start together migrate one at a time.
    """
    where = engine.url.render_as_string(hide_password=True)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
            command.upgrade(alembic_config(connection), "head")
    except CommandError as exc:
        raise StorageError(
            f"cannot migrate the database at {where}: {exc}; if another version of Standby"
            " migrated it further, run that version"
        ) from None
    except OperationalError as exc:
        raise StorageError(f"cannot migrate the database at {where}: {_reason(exc)}") from None


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except OperationalError as exc:
        where = engine.url.render_as_string(hide_password=True)
        raise StorageError(f"cannot read the database at {where}: {_reason(exc)}") from None


def _reason(exc: OperationalError) -> str:
    text_ = str(exc.orig if exc.orig is not None else exc).strip()
    return text_.splitlines()[0] if text_ else type(exc).__name__

"""`husbot migrate`: bring the configured database (SQLite in the data folder, or PostgreSQL) to this husbot's schema.

Every start migrates by itself; this is for doing it as one step of a deploy before several servers start, and for
asking whether it is needed (`--check`) without writing anything.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from . import datafolder
from .errors import IncompatibleStore
from .store import MIGRATIONS, open_store


@dataclass
class Migration:
    database: str       # the SQLite file, or the PostgreSQL URL without its password
    before: int
    after: int
    known: int = len(MIGRATIONS)

    @property
    def pending(self) -> int:
        return max(self.known - self.after, 0)


def describe(home: str | Path, database_url: str = "") -> str:
    """The database the settings name, fit to print: the SQLite file, or the URL without its password."""
    from .postgres import is_postgres_url, redact

    return redact(database_url) if is_postgres_url(database_url) else str(datafolder.database_path(home, database_url))


def schema_version(home: str | Path, database_url: str = "") -> int:
    """The schema version of the database the settings name, read without migrating (0 when empty or missing)."""
    from .postgres import PostgresDatabase, is_postgres_url

    if is_postgres_url(database_url):
        db = PostgresDatabase(database_url)
        try:
            if "meta" not in db.table_names():
                return 0
            row = db.execute("select value from meta where key = 'schema_version'").fetchone()
        finally:
            db.close()
    else:
        path = datafolder.database_path(home, database_url)
        if not path.exists():
            return 0
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            if not conn.execute("select 1 from sqlite_master where type = 'table' and name = 'meta'").fetchone():
                return 0
            row = conn.execute("select value from meta where key = 'schema_version'").fetchone()
        finally:
            conn.close()
    return int(row[0]) if row else 0


def status(home: str | Path, database_url: str = "") -> Migration:
    """Where the database stands, without writing; IncompatibleStore when it is newer than this husbot."""
    version = schema_version(home, database_url)
    found = Migration(describe(home, database_url), version, version)
    if version > found.known:
        raise IncompatibleStore(f"{found.database}: schema version {version} is newer than this husbot understands "
                                f"({found.known}); upgrade husbot")
    return found


def migrate(home: str | Path, database_url: str = "") -> Migration:
    """Apply the migrations the database lacks (serialised with other servers starting at the same time)."""
    found = status(home, database_url)
    lock = datafolder.hold(Path(home))   # shared, as every husbot process holds it: a restore waits for us
    try:
        store = open_store(Path(home), database_url)
        try:
            found.after = store.schema_version()
        finally:
            store.close()
    finally:
        lock.close()
    return found

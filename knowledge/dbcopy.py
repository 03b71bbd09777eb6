"""`husbot db copy`: move everything from one database to another (SQLite → PostgreSQL, or back) without re-embedding.

Why rows and not a dump: the two dialects differ, but both stores speak the same migrations, so a table-by-table copy
of the same columns is exact. The target must be empty; the whole copy is one transaction there, so a failure (or a
kill) leaves it empty again, never half-filled.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .errors import HusbotError, IncompatibleStore
from .store import SQLStore

BATCH = 2000
# parents before children (foreign keys); tables not named here follow in name order
ORDER = ["meta", "documents", "passages", "embeddings", "embedding_cache", "minutes", "minutes_messages",
         "minutes_versions", "action_items"]
# written by the target's own migrations
SKIP_META = {"schema_version", "store_id"}   # the target keeps its own identity (its caches are its own)
LINK_KEY = "status-links.key"


class CopyError(HusbotError):
    """The copy was refused (target not empty, schema versions differ); nothing was written."""


@dataclass
class CopyReport:
    tables: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


def _tables(src: SQLStore) -> list[str]:
    names = [t for t in src.db.table_names() if not t.startswith("sqlite_")]
    return [t for t in ORDER if t in names] + sorted(t for t in names if t not in ORDER)


def copy_store(src: SQLStore, dst: SQLStore, on_table: Callable[[str, int], None] | None = None,
               home: Path | None = None) -> CopyReport:
    """Copy every row of `src` into the empty `dst` (same schema version). `home`: the SQLite data folder, whose
    status-link key moves along so form links sent before the move still open."""
    t0 = time.perf_counter()
    if src.schema_version() != dst.schema_version():
        raise IncompatibleStore(f"schema versions differ: {src.path} has {src.schema_version()}, {dst.path} has "
                                f"{dst.schema_version()}; run `husbot migrate` on both first")
    busy = [t for t in _tables(src) if t != "meta" and t in dst.db.table_names()
            and dst.db.execute(f"select exists(select 1 from {t})").fetchone()[0]]
    if busy:
        raise CopyError(f"{dst.path} is not empty ({', '.join(busy[:5])} have rows); copy into an empty database")
    report = CopyReport()
    dst_tables = set(dst.db.table_names())
    with dst.db.atomic():
        for table in _tables(src):
            if table not in dst_tables:
                continue
            theirs = set(dst.db[table].columns_dict)
            columns = [c for c in src.db[table].columns_dict if c in theirs]
            n = 0
            rows = src.db.execute(f"select {', '.join(columns)} from {table}")
            while True:
                chunk = rows.fetchmany(BATCH)
                if not chunk:
                    break
                records = [dict(zip(columns, r)) for r in chunk]
                if table == "meta":
                    records = [r for r in records if r["key"] not in SKIP_META]
                    for r in records:
                        dst.db["meta"].upsert(r, pk="key")
                else:
                    _insert_many(dst, table, columns, [tuple(r[c] for c in columns) for r in records])
                n += len(records)
            report.tables[table] = n
            if on_table:
                on_table(table, n)
        if home is not None and (Path(home) / LINK_KEY).exists():
            dst.db["meta"].upsert({"key": f"secret:{LINK_KEY}", "value": (Path(home) / LINK_KEY).read_text().strip()},
                                  pk="key")
        if dst.backend == "postgresql":
            from .postgres import reset_identities
            reset_identities(dst.db)
    if dst.backend == "sqlite":
        _write_link_key(dst)
    report.seconds = time.perf_counter() - t0
    return report


def _write_link_key(dst: SQLStore) -> None:
    """Back to SQLite: a SQLite husbot reads the status-link key from its data folder, not from meta."""
    secret = dst.get_meta(f"secret:{LINK_KEY}")
    path = Path(dst.home) / LINK_KEY
    if secret and not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secret)


def _insert_many(dst: SQLStore, table: str, columns: list[str], rows: list[tuple]) -> None:
    if dst.backend == "postgresql":
        dst.db.copy_rows(table, columns, rows)
    else:
        dst.db.conn.executemany(f"insert into {table} ({', '.join(columns)}) values ({', '.join('?' * len(columns))})",
                                rows)

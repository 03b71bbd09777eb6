"""Backup and restore of a data folder: the SQLite database, copied with SQLite's online backup API, and its keys.

On PostgreSQL (HUSBOT_DATABASE_URL) both are refused: the database server has its own tools (pg_dump, pg_restore)
that the operations team already runs, and the data folder then holds only rebuildable caches.

The search caches (FAISS, lexical) are not copied: they are rebuilt from SQLite, so a backup is the database (plus
the small `*.key` files, e.g. the key that signs status form links, so links sent before still open after a move)
and is itself a valid HUSBOT_HOME. The backup reads one consistent snapshot while `husbot serve` keeps writing.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

KEYS = "*.key"

from . import datafolder
from .check import CheckReport, check
from .errors import HusbotError
from .store import MIGRATIONS


class BackupError(HusbotError):
    """A backup or restore was refused or failed; nothing was changed."""


def _copy(src: sqlite3.Connection, dest_path: Path, journal: str) -> None:
    """All pages in one step: the copy is one read transaction on `src`, so it is a snapshot (#8)."""
    tmp = dest_path.with_name(dest_path.name + f".{os.getpid()}.restore.tmp")
    tmp.unlink(missing_ok=True)
    dest = sqlite3.connect(str(tmp))
    try:
        src.backup(dest)
        dest.execute(f"pragma journal_mode={journal}")
    finally:
        dest.close()
    for suffix in ("-wal", "-shm"):
        Path(str(tmp) + suffix).unlink(missing_ok=True)
    os.replace(tmp, dest_path)


def _sqlite_only(database_url: str, what: str) -> None:
    from .postgres import is_postgres_url, redact

    if is_postgres_url(database_url):
        raise BackupError(f"husbot {what} works on a SQLite data folder, but the database is PostgreSQL "
                          f"({redact(database_url)}); use pg_dump to back it up and pg_restore to restore it")


def backup(home: str | Path, dest: str | Path, database_url: str = "") -> CheckReport:
    """Copy the database of `home` (or of a sqlite:/// `database_url`) into the new folder `dest` and check the copy;
    returns the copy's check. Refused on PostgreSQL."""
    _sqlite_only(database_url, "backup")
    src_path = datafolder.database_path(home, database_url)
    dest = Path(dest)
    if not src_path.exists():
        raise BackupError(f"{src_path}: no database to back up")
    if (dest / datafolder.DATABASE).exists():
        raise BackupError(f"{dest} already holds a husbot database; choose a new folder")
    dest.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{src_path}?mode=ro", uri=True, timeout=30)
    try:
        _copy(src, dest / datafolder.DATABASE, "delete")   # a backup is one self-contained file
    finally:
        src.close()
    _copy_keys(Path(home), dest)
    return check(dest)


def _copy_keys(src: Path, dest: Path) -> None:
    for key in src.glob(KEYS):
        target = dest / key.name
        tmp = target.with_name(f"{key.name}.{os.getpid()}.tmp")
        shutil.copyfile(key, tmp)
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)


def _is_empty(home: Path) -> bool:
    return not home.exists() or not [f for f in home.iterdir() if f.name != datafolder.LOCK and not f.match(KEYS)]


def restore(src: str | Path, home: str | Path, force: bool = False, database_url: str = "") -> CheckReport:
    """Replace the database of `home` by the backup `src` (a backup folder or its husbot.db) and drop the old caches.

    Refuses a folder another husbot process has open, a non-empty one unless `force`, and PostgreSQL."""
    _sqlite_only(database_url, "restore")
    src = Path(src)
    src_path = src / datafolder.DATABASE if src.is_dir() else src
    home = Path(home)
    old = datafolder.database_path(home, database_url)
    if not src_path.exists():
        raise BackupError(f"{src_path}: no backup here")
    if src_path.resolve() == old.resolve():
        raise BackupError("the backup is the database of the folder to restore into")
    found = check(src_path.parent) if src_path.name == datafolder.DATABASE else None
    if found is not None and not found.ok:
        raise BackupError(f"{src_path} is not a sound backup: {found.problems[0]}")
    lock = datafolder.hold(home, exclusive=True)
    try:
        if not _is_empty(home) and not force:
            raise BackupError(f"{home} is not empty; add --force to replace its data with the backup")
        source = sqlite3.connect(f"file:{src_path}?mode=ro", uri=True, timeout=30)
        try:
            version = source.execute("select value from meta where key='schema_version'").fetchone()
            if version is None or int(version[0]) > len(MIGRATIONS):
                raise BackupError(f"{src_path}: not a husbot database this version can read")
            # why checkpoint first: the old database's WAL must not outlive it and be replayed onto the new one
            if old.exists():
                conn = sqlite3.connect(str(old))
                try:
                    conn.execute("pragma wal_checkpoint(truncate)")
                finally:
                    conn.close()
            datafolder.remove_caches(home)
            old.parent.mkdir(parents=True, exist_ok=True)
            _copy(source, old, "wal")
            for suffix in ("-wal", "-shm"):
                Path(str(old) + suffix).unlink(missing_ok=True)
            _copy_keys(src_path.parent, home)
        finally:
            source.close()
    finally:
        lock.close()
    return check(home, database_url)

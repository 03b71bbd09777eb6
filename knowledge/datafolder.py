"""The files of a data folder (HUSBOT_HOME): the SQLite database, the rebuildable caches beside it, and its lock.

Every process that opens the folder holds a shared lock on `.lock` until it exits (the kernel drops it even on
SIGKILL); a restore takes the lock exclusively, so it never swaps the database under a running `husbot serve`.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

from .errors import FolderInUse

DATABASE = "husbot.db"
STATE = "index-state.json"
CACHES = ("passages.faiss", "lexical.npz", STATE)
LOCK = ".lock"
# a temporary file of atomic_write: <name>.<pid>.<random>.tmp
_TEMP = re.compile(r"^(?P<name>.+)\.(?P<pid>\d+)\.[^.]+\.tmp$")

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows; the lock is then advisory only
    fcntl = None


def database_path(home: Path, database_url: str = "") -> Path:
    """The SQLite file the settings name: `husbot.db` in the data folder, or in the folder of a sqlite:/// URL
    (a URL ending in a .db file names its folder; the same rule as knowledge.store.open_store)."""
    if database_url and database_url.startswith("sqlite:///"):
        path = Path(database_url[len("sqlite:///"):])
        if path.name == DATABASE or path.suffix == ".db":
            path = path.parent
        return path / DATABASE
    return Path(home) / DATABASE


def hold(home: Path, exclusive: bool = False):
    """Take the folder's lock without waiting; returns the open lock file (close it to release)."""
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    fh = open(home / LOCK, "a+")
    if fcntl is None:
        return fh
    try:
        fcntl.flock(fh.fileno(), (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        if exclusive:
            raise FolderInUse(f"{home} is in use by another husbot process (husbot serve?); stop it first") from None
        raise FolderInUse(f"{home} is being restored; try again in a moment") from None
    return fh


def cache_state(home: Path) -> dict:
    """The generation stamp the search caches were built for ({} when missing or unreadable)."""
    try:
        state = json.loads((Path(home) / STATE).read_text())
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def atomic_write(path: Path, writer) -> None:
    """Write through a temporary file and rename, so readers see the old file or the new one, never half.

    The temporary name carries our pid: a process killed mid-write leaves it behind, and `remove_stale_temp_files`
    can tell it from a file another living process is still writing."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{path.name}.{os.getpid()}.", suffix=".tmp")
    os.close(fd)
    try:
        writer(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stale_temp_files(home: Path) -> list[Path]:
    """Temporary files left by a process that died while writing a cache (or by an older husbot)."""
    out = []
    for f in Path(home).glob("*.tmp"):
        m = _TEMP.match(f.name)
        if m is None or not _alive(int(m["pid"])):
            out.append(f)
    return sorted(out)


def remove_stale_temp_files(home: Path) -> list[Path]:
    removed = []
    for f in stale_temp_files(home):
        try:
            f.unlink()
            removed.append(f)
        except FileNotFoundError:
            pass
    return removed


def remove_caches(home: Path) -> None:
    """Drop the search caches; the next start rebuilds them from SQLite."""
    for name in CACHES:
        (Path(home) / name).unlink(missing_ok=True)
    remove_stale_temp_files(home)

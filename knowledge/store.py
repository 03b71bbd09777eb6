"""The store: SQL is the source of truth (SQLite via sqlite-utils by default, PostgreSQL for several servers), FAISS
a rebuildable vector index beside it in the data folder.

Everything outside this module talks to a store (`open_store`), whose `db` speaks the sqlite-utils subset that
knowledge/postgres.py also offers, so both backends run the same migrations and queries.
"""
from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import sqlite_utils

from .errors import IncompatibleStore

# what a unique or foreign key refusal raises, on either backend (callers retry or report it)
IntegrityError: tuple = (sqlite3.IntegrityError,)
try:
    import psycopg as _psycopg
    IntegrityError += (_psycopg.IntegrityError,)
except ImportError:  # pragma: no cover - psycopg is a dependency; guarded for slim installs
    pass

SCHEMA_VERSION = 1


@dataclass
class Document:
    path: str
    name: str
    title: str
    sha256: str
    publisher: str = ""
    date: str = ""
    kind: str = "report"
    pilots: list[str] = field(default_factory=list)
    visibility: str = "programme"
    id: int | None = None
    n_passages: int = 0


@dataclass
class Passage:
    text: str
    shadow: str = ""
    section_no: str = ""
    section_title: str = ""
    page: int | None = None
    seq: int = 0
    pilots: list[str] = field(default_factory=list)
    lessons: list[str] = field(default_factory=list)
    date: str = ""
    kind: str = "report"
    visibility: str = "programme"
    dup_of: int | None = None
    display: str = ""        # readable text for answers; the citation keeps `text`, the original
    doc_id: int | None = None
    id: int | None = None
    # filled when read back together with its document
    document: str = ""
    title: str = ""


def _m1(db: sqlite_utils.Database) -> None:
    db["meta"].create({"key": str, "value": str}, pk="key", if_not_exists=True)
    db["documents"].create({"id": int, "path": str, "name": str, "title": str, "publisher": str, "date": str,
                            "kind": str, "pilots": str, "visibility": str, "sha256": str, "n_passages": int,
                            "indexed_at": float}, pk="id", not_null={"path"}, if_not_exists=True)
    db["documents"].create_index(["path"], unique=True, if_not_exists=True)
    db["passages"].create({"id": int, "doc_id": int, "seq": int, "section_no": str, "section_title": str,
                           "page": int, "text": str, "shadow": str, "pilots": str, "lessons": str, "date": str,
                           "kind": str, "visibility": str, "dup_of": int},
                          pk="id", foreign_keys=[("doc_id", "documents", "id")], if_not_exists=True)
    db["passages"].create_index(["doc_id", "seq"], if_not_exists=True)
    db["embeddings"].create({"passage_id": int, "vector": bytes}, pk="passage_id", if_not_exists=True)


def _m2(db: sqlite_utils.Database) -> None:
    # why: re-indexing a changed document re-embeds only the passages whose text changed
    db["embedding_cache"].create({"key": str, "vector": bytes}, pk="key", if_not_exists=True)


def _m3(db: sqlite_utils.Database) -> None:
    """Tables of the conversation core (bot/): conversations, answers, feedback, roster, processed events."""
    db["conversations"].create({"key": str, "platform": str, "channel": str, "thread": str, "user_id": str,
                                "history": str, "updated_at": float}, pk="key", if_not_exists=True)
    db["answers"].create({"id": str, "conversation": str, "platform": str, "user_id": str, "question": str,
                          "lang": str, "text": str, "citations": str, "confidence": float, "created_at": float},
                         pk="id", if_not_exists=True)
    db["feedback"].create({"id": int, "answer_id": str, "user_id": str, "platform": str, "vote": int,
                           "reason": str, "question": str, "passage_ids": str, "created_at": float},
                          pk="id", if_not_exists=True)
    db["people"].create({"id": int, "name": str, "email": str, "pilot": str, "role": str, "slack_user_id": str,
                         "teams_aad_id": str, "updated_at": float}, pk="id", if_not_exists=True)
    db["people"].create_index(["email"], if_not_exists=True)
    db["channels"].create({"platform": str, "channel_id": str, "pilot": str}, pk=("platform", "channel_id"),
                          if_not_exists=True)
    db["processed_events"].create({"key": str, "created_at": float}, pk="key", if_not_exists=True)


def _m4(db: sqlite_utils.Database) -> None:
    """Teams conversation references, stored on first contact and on install, for proactive messages."""
    db["teams_conversations"].create({"conversation_id": str, "kind": str, "user_id": str, "aad_object_id": str,
                                      "user_name": str, "channel_id": str, "team_id": str, "tenant_id": str,
                                      "service_url": str, "reference": str, "updated_at": float},
                                     pk="conversation_id", if_not_exists=True)
    db["teams_conversations"].create_index(["aad_object_id"], if_not_exists=True)


def _m5(db: sqlite_utils.Database) -> None:
    """A readable copy of each passage (lines re-joined, OCR damage repaired) for answer sentences."""
    if "display" not in db["passages"].columns_dict:
        db["passages"].add_column("display", str)


def _m6(db: sqlite_utils.Database) -> None:
    """Meeting minutes (bot/minutes.py): records, captured messages, every draft version, and action items."""
    db["minutes"].create({"id": int, "conversation": str, "status": str, "type": str, "title": str, "date": str,
                          "pilots": str, "participants": str, "source": str, "lang": str, "version": int,
                          "created_by": str, "created_at": float, "updated_at": float, "accepted_by": str,
                          "accepted_at": float, "indexed_at": float}, pk="id", if_not_exists=True)
    # why a partial unique index: two captures in one thread are refused even when two messages race (#6)
    db.execute("create unique index if not exists minutes_one_capture on minutes(conversation) "
               "where status = 'capturing'")
    db["minutes_messages"].create({"id": int, "minutes_id": int, "author": str, "at": str, "text": str},
                                  pk="id", foreign_keys=[("minutes_id", "minutes", "id")], if_not_exists=True)
    db["minutes_messages"].create_index(["minutes_id"], if_not_exists=True)
    db["minutes_versions"].create({"minutes_id": int, "version": int, "content": str, "author": str, "note": str,
                                   "created_at": float}, pk=("minutes_id", "version"),
                                  foreign_keys=[("minutes_id", "minutes", "id")], if_not_exists=True)
    db["action_items"].create({"id": int, "minutes_id": int, "pilots": str, "text": str, "owner": str, "due": str,
                               "due_text": str, "due_flagged": int, "status": str, "created_at": float,
                               "done_at": float, "done_by": str}, pk="id",
                              foreign_keys=[("minutes_id", "minutes", "id")], if_not_exists=True)
    db["action_items"].create_index(["status", "due"], if_not_exists=True)


def _m7(db: sqlite_utils.Database) -> None:
    """Messages husbot sends on its own (bot/outbox.py), keyed so that none is sent twice, and task reminders."""
    db["outbox"].create({"key": str, "kind": str, "platform": str, "recipient": str, "text": str, "status": str,
                         "error": str, "created_at": float, "sent_at": float}, pk="key", if_not_exists=True)
    db["outbox"].create_index(["kind", "status"], if_not_exists=True)


def _m8(db: sqlite_utils.Database) -> None:
    """The monthly status round (bot/status/): rounds, every version of every answer, and dashboard tokens."""
    db["status_rounds"].create({"month": str, "opens_at": str, "deadline": str, "reminders": str, "source": str,
                                "started_by": str, "created_at": float, "prompted_at": float}, pk="month",
                               if_not_exists=True)
    db["status_answers"].create({"id": int, "pilot": str, "month": str, "version": int, "answers": str,
                                 "submitted_by": str, "platform": str, "submitted_at": float, "deadline": str,
                                 "late": int, "indexed_at": float}, pk="id", if_not_exists=True)
    # why unique: two surfaces submitting at once each get their own version, never one overwriting the other
    db["status_answers"].create_index(["pilot", "month", "version"], unique=True, if_not_exists=True)
    db["api_tokens"].create({"id": int, "sha256": str, "role": str, "name": str, "created_at": float,
                             "revoked_at": float}, pk="id", if_not_exists=True)
    db["api_tokens"].create_index(["sha256"], unique=True, if_not_exists=True)


def _m9(db: sqlite_utils.Database) -> None:
    """Signed-in web dashboard sessions (bot/sessions.py), shared by every server on one database (issue 9)."""
    db["web_sessions"].create({"digest": str, "token_id": int, "role": str, "name": str, "csrf": str,
                               "expires": float}, pk="digest", if_not_exists=True)


# Numbered migrations; other parts of husbot add their tables by appending here (owned by knowledge/).
MIGRATIONS = [_m1, _m2, _m3, _m4, _m5, _m6, _m7, _m8, _m9]


class Store(Protocol):
    """The small interface the rest of husbot uses; `SQLiteStore` is the embedded implementation, `PostgresStore`
    the server one (both `SQLStore`)."""

    def replace_document(self, doc: Document, passages: list[Passage], vectors: np.ndarray) -> int: ...
    def delete_document(self, path: str) -> None: ...
    def documents(self) -> list[Document]: ...
    def document_by_path(self, path: str) -> Document | None: ...
    def passages(self) -> list[Passage]: ...
    def vectors(self) -> tuple[np.ndarray, np.ndarray]: ...
    def generation(self) -> int: ...
    def has_passages(self) -> bool: ...


class SQLStore:
    """What both backends share: every query below is portable SQL on the sqlite-utils subset."""

    backend = "sqlite"
    db: sqlite_utils.Database
    path: Path | str

    # -- schema ---------------------------------------------------------------------------------------
    def _migrate(self) -> None:
        with self.db.atomic():
            self._serialise_migrations()
            version = self.schema_version()
            if version > len(MIGRATIONS):
                raise IncompatibleStore(
                    f"{self.path}: schema version {version} is newer than this husbot understands ({len(MIGRATIONS)}); "
                    "upgrade husbot or choose another data folder or database")
            for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
                migration(self.db)
                self.db["meta"].upsert({"key": "schema_version", "value": str(number)}, pk="key")
            # why: a data folder's search caches must never be taken for those of another database whose
            # generation and passage count happen to match (a server pointed at a second database)
            if not self.db.execute("select value from meta where key = 'store_id'").fetchone():
                self.db.execute("insert or ignore into meta(key, value) values ('store_id', ?)", [uuid.uuid4().hex])

    def identity(self) -> str:
        return self.get_meta("store_id", "")

    def _serialise_migrations(self) -> None:
        """Two servers starting at once must not both migrate (SQLite's write lock already sees to it)."""

    def schema_version(self) -> int:
        if "meta" not in self.db.table_names():
            return 0
        row = self.db.execute("select value from meta where key='schema_version'").fetchone()
        return int(row[0]) if row else 0

    @contextlib.contextmanager
    def job_lock(self, name: str):
        """Yield whether this process may run the scheduled job `name` now (no other server runs it)."""
        yield True

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("select value from meta where key=?", [key]).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value) -> None:
        self.db["meta"].upsert({"key": key, "value": str(value)}, pk="key")

    def check_model(self, model: str, dim: int | None) -> None:
        """Refuse to mix vectors of two models in one data folder."""
        stored = self.get_meta("embed_model")
        if stored is None:
            with self.db.atomic():
                self.set_meta("embed_model", model)
                if dim:
                    self.set_meta("embed_dim", dim)
            return
        if stored != model or (dim and self.get_meta("embed_dim") not in (None, str(dim))):
            raise IncompatibleStore(
                f"{self.path}: built with embedding model '{stored}' (dim {self.get_meta('embed_dim')}), "
                f"not '{model}'; use another HUSBOT_HOME or re-index into an empty one")

    def generation(self) -> int:
        return int(self.get_meta("generation", "0"))

    # -- writes (each one transaction: a crash leaves the old or the new state) ----------------------------
    def replace_document(self, doc: Document, passages: list[Passage], vectors: np.ndarray) -> int:
        if len(passages) != len(vectors):
            raise ValueError("one vector per passage")
        with self.db.atomic():
            old = self.document_by_path(doc.path)
            if old is not None:
                self._delete(old.id)
            row = {"path": doc.path, "name": doc.name, "title": doc.title, "publisher": doc.publisher,
                   "date": doc.date, "kind": doc.kind, "pilots": json.dumps(doc.pilots, ensure_ascii=False),
                   "visibility": doc.visibility, "sha256": doc.sha256, "n_passages": len(passages),
                   "indexed_at": time.time()}
            doc_id = self.db["documents"].insert(row).last_pk
            for p, vec in zip(passages, vectors):
                pid = self.db["passages"].insert({
                    "doc_id": doc_id, "seq": p.seq, "section_no": p.section_no, "section_title": p.section_title,
                    "page": p.page, "text": p.text, "shadow": p.shadow,
                    "pilots": json.dumps(p.pilots, ensure_ascii=False), "lessons": json.dumps(p.lessons),
                    "date": p.date or doc.date, "kind": p.kind or doc.kind, "visibility": p.visibility or doc.visibility,
                    "dup_of": None, "display": p.display}).last_pk
                p.id, p.doc_id = pid, doc_id
                self.db["embeddings"].insert({"passage_id": pid,
                                              "vector": np.asarray(vec, dtype=np.float32).tobytes()})
            self._bump()
        doc.id = doc_id
        return doc_id

    def delete_document(self, path: str) -> None:
        with self.db.atomic():
            old = self.document_by_path(path)
            if old is not None:
                self._delete(old.id)
                self._bump()

    def set_duplicates(self, pairs: dict[int, int | None], checked: list[int] | None = None,
                       checked_through: int | None = None) -> None:
        """Record near-duplicates: for every passage in `checked` (all when None) its older twin or none."""
        with self.db.atomic():
            if checked_through is not None:
                self.set_meta("dup_checked_through", checked_through)
            if checked is None:
                self.db.execute("update passages set dup_of = null")
            else:
                for start in range(0, len(checked), 500):
                    part = checked[start:start + 500]
                    self.db.execute(f"update passages set dup_of = null where id in ({','.join('?' * len(part))})",
                                    part)
            for pid, dup in pairs.items():
                self.db.execute("update passages set dup_of=? where id=?", [dup, pid])

    def orphaned_duplicates(self) -> list[int]:
        """Passages marked as the twin of a passage that is gone (its document was re-indexed or removed)."""
        return [r[0] for r in self.db.execute(
            "select p.id from passages p where p.dup_of is not null "
            "and not exists (select 1 from passages o where o.id = p.dup_of)")]

    def _delete(self, doc_id: int) -> None:
        self.db.execute("delete from embeddings where passage_id in (select id from passages where doc_id=?)", [doc_id])
        self.db.execute("delete from passages where doc_id=?", [doc_id])
        self.db.execute("delete from documents where id=?", [doc_id])

    def _bump(self) -> None:
        # why one statement: two servers writing at once must each move the counter (a read-then-write loses one)
        cur = self.db.execute("update meta set value = cast(cast(value as integer) + 1 as text) where key = 'generation'")
        if cur.rowcount == 0:
            self.set_meta("generation", 1)

    # -- reads ---------------------------------------------------------------------------------------------
    @staticmethod
    def _doc(row: dict) -> Document:
        return Document(path=row["path"], name=row["name"], title=row["title"], sha256=row["sha256"],
                        publisher=row["publisher"] or "", date=row["date"] or "", kind=row["kind"] or "",
                        pilots=json.loads(row["pilots"] or "[]"), visibility=row["visibility"] or "programme",
                        id=row["id"], n_passages=row["n_passages"] or 0)

    def documents(self) -> list[Document]:
        return [self._doc(r) for r in self.db["documents"].rows_where(order_by="name")]

    def document_by_path(self, path: str) -> Document | None:
        rows = list(self.db["documents"].rows_where("path = ?", [path]))
        return self._doc(rows[0]) if rows else None

    def passages(self) -> list[Passage]:
        sql = ("select p.*, d.name as document, d.title as title from passages p join documents d on d.id = p.doc_id "
               "order by p.doc_id, p.seq")
        out = []
        for r in self.db.query(sql):
            out.append(Passage(text=r["text"], shadow=r["shadow"], section_no=r["section_no"] or "",
                               section_title=r["section_title"] or "", page=r["page"], seq=r["seq"],
                               pilots=json.loads(r["pilots"] or "[]"), lessons=json.loads(r["lessons"] or "[]"),
                               date=r["date"] or "", kind=r["kind"] or "", visibility=r["visibility"] or "programme",
                               dup_of=r["dup_of"], display=r.get("display") or "", doc_id=r["doc_id"], id=r["id"],
                               document=r["document"],
                               title=r["title"]))
        return out

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        ids, vecs = [], []
        for pid, blob in self.db.execute("select passage_id, vector from embeddings order by passage_id"):
            ids.append(pid)
            vecs.append(np.frombuffer(blob, dtype=np.float32))
        if not ids:
            return np.zeros(0, dtype=np.int64), np.zeros((0, int(self.get_meta("embed_dim", "384"))), np.float32)
        return np.asarray(ids, dtype=np.int64), np.vstack(vecs)

    def cached_vectors(self, keys: list[str]) -> dict[str, np.ndarray]:
        out = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            sql = f"select key, vector from embedding_cache where key in ({','.join('?' * len(chunk))})"
            out.update({k: np.frombuffer(v, dtype=np.float32) for k, v in self.db.execute(sql, chunk)})
        return out

    def cache_vectors(self, items: dict[str, np.ndarray]) -> None:
        with self.db.atomic():
            self.db["embedding_cache"].upsert_all(
                [{"key": k, "vector": np.asarray(v, np.float32).tobytes()} for k, v in items.items()], pk="key")

    def counts(self) -> dict:
        return {t: self.db[t].count for t in ("documents", "passages", "embeddings")}

    def has_passages(self) -> bool:
        """Whether anything is indexed yet. Why not counts(): count(*) reads whole tables, ~0.1 s at 10^5
        passages, and every question asks this on the event loop (50 at once held Slack's acks back 2 s, #8)."""
        return bool(self.db.execute("select exists(select 1 from passages)").fetchone()[0])

    def close(self) -> None:
        self.db.conn.close()


class _SerialConnection:
    """The SQLite connection, one thread at a time. Why: the event loop and worker threads (answers, indexing of
    accepted minutes and status answers) share one connection; without this a statement of one thread would join the
    other's open transaction and vanish with it if that one rolled back. A transaction (`atomic`, `with conn:`) holds
    the lock until it ends, as on PostgreSQL (knowledge/postgres.py)."""

    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn
        self.lock = threading.RLock()

    def execute(self, *args):
        with self.lock:
            return self._conn.execute(*args)

    def executemany(self, *args):
        with self.lock:
            return self._conn.executemany(*args)

    def executescript(self, *args):
        with self.lock:
            return self._conn.executescript(*args)

    def __enter__(self):
        self.lock.acquire()
        try:
            return self._conn.__enter__()
        except BaseException:
            self.lock.release()
            raise

    def __exit__(self, *exc):
        try:
            return self._conn.__exit__(*exc)
        finally:
            self.lock.release()

    def __getattr__(self, name):
        return getattr(self._conn, name)


class _SerialDatabase(sqlite_utils.Database):
    @contextlib.contextmanager
    def atomic(self):
        with self.conn.lock:
            with super().atomic():
                yield self


class SQLiteStore(SQLStore):
    """The embedded default: one SQLite file, `husbot.db`, in the data folder."""

    def __init__(self, home: Path, model: str | None = None, dim: int | None = None):
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.path = self.home / "husbot.db"
        conn = sqlite3.connect(str(self.path), timeout=30, check_same_thread=False)
        self.db = _SerialDatabase(_SerialConnection(conn))
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self._migrate()
        if model is not None:
            self.check_model(model, dim)

    @contextlib.contextmanager
    def job_lock(self, name: str):
        """A lock file per job in the data folder: servers sharing one SQLite file share its folder too."""
        import fcntl
        folder = self.home / "locks"
        folder.mkdir(exist_ok=True)
        with open(folder / f"{name}.lock", "a") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


class PostgresStore(SQLStore):
    """PostgreSQL (HUSBOT_DATABASE_URL=postgresql://…): the database holds everything, embeddings included; the data
    folder keeps only this server's search caches, rebuilt from the database when its generation moves."""

    backend = "postgresql"

    def __init__(self, url: str, home: Path, model: str | None = None, dim: int | None = None):
        from .postgres import PostgresDatabase, redact
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.url = url
        self.path = redact(url)
        self.db = PostgresDatabase(url)
        try:
            self._migrate()
            if model is not None:
                self.check_model(model, dim)
        except BaseException:
            self.db.close()
            raise

    def _serialise_migrations(self) -> None:
        self.db.execute("select pg_advisory_xact_lock(hashtext('husbot:migrate'))")

    @contextlib.contextmanager
    def job_lock(self, name: str):
        with self.db.advisory_lock(f"husbot:job:{name}") as got:
            yield got

    def shared_secret(self, name: str) -> bytes:
        """A random key made once for the whole deployment, so every server signs and checks alike."""
        import secrets
        self.db.execute("insert or ignore into meta(key, value) values (?, ?)", [f"secret:{name}", secrets.token_hex(32)])
        return bytes.fromhex(self.get_meta(f"secret:{name}"))


def open_store(home: Path, database_url: str = "", model: str | None = None, dim: int | None = None) -> SQLStore:
    """The store the settings name: PostgreSQL for a postgresql:// URL, else SQLite in `home` (or a sqlite:/// path)."""
    from .postgres import is_postgres_url
    if is_postgres_url(database_url):
        return PostgresStore(database_url, home, model, dim)
    if database_url and database_url.startswith("sqlite:///"):
        from .datafolder import database_path
        return SQLiteStore(database_path(home, database_url).parent, model, dim)
    if database_url:
        raise IncompatibleStore(f"HUSBOT_DATABASE_URL must start with postgresql:// or sqlite:///, not "
                                f"{database_url.split(':', 1)[0]}:")
    return SQLiteStore(home, model, dim)


def atomic_write(path: Path, writer) -> None:
    """Write through a temporary file and rename, so readers see the old file or the new one, never half."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(fd)
    try:
        writer(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)

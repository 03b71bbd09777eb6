"""The store on PostgreSQL (psycopg 3), for a deployment with several husbot servers behind one database.

Why a small sqlite-utils look-alike instead of a second copy of every query: the conversation core, minutes, status
round and roster speak the subset of sqlite-utils' `Database` API below (`db["t"].insert/upsert/update/get/rows_where`,
`db.execute/query/atomic`) and write portable SQL with `?` placeholders. `PostgresDatabase` offers the same subset on
psycopg, translating the few dialect differences in one place (`translate`), so both backends run the same code, the
same numbered migrations (knowledge/store.py) and the same tests.

One connection per process, used under a lock (like the single SQLite connection): a transaction (`atomic`) holds
the lock until it ends, so worker threads never interleave statements inside another thread's transaction.
"""
from __future__ import annotations

import contextlib
import re
import threading
from urllib.parse import urlsplit, urlunsplit

from sqlite_utils.db import NotFoundError

try:  # why optional: the embedded default needs no PostgreSQL client
    import psycopg
except ImportError:  # pragma: no cover - psycopg is a dependency of husbot; guarded for slim installs
    psycopg = None

from .errors import HusbotError

_TYPES = {int: "bigint", str: "text", float: "double precision", bytes: "bytea", bool: "bigint"}
_PY_TYPES = {"bigint": int, "integer": int, "smallint": int, "text": str, "double precision": float, "real": float,
             "bytea": bytes, "numeric": float, "boolean": int}
_INSERT_OR_IGNORE = re.compile(r"^\s*insert\s+or\s+ignore\s+into\b", re.I)


class DatabaseUnavailable(HusbotError):
    """The PostgreSQL server could not be reached or refused us; the message names the server, never the password."""


def is_postgres_url(url: str | None) -> bool:
    return bool(url) and str(url).split(":", 1)[0].lower() in ("postgresql", "postgres")


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = (parts.username or "")
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[-1]}"))


def translate(sql: str) -> str:
    """SQLite-flavoured SQL as husbot writes it → PostgreSQL: `?` → `%s` (outside string literals), `%` → `%%`,
    `insert or ignore` → `insert … on conflict do nothing`."""
    ignore = bool(_INSERT_OR_IGNORE.match(sql))
    if ignore:
        sql = _INSERT_OR_IGNORE.sub("insert into", sql, count=1)
    out, quoted = [], False
    for ch in sql:
        if ch == "'":
            quoted = not quoted
            out.append(ch)
        elif ch == "%":
            out.append("%%")
        elif ch == "?" and not quoted:
            out.append("%s")
        else:
            out.append(ch)
    sql = "".join(out)
    if ignore:
        sql = sql.rstrip().rstrip(";") + " on conflict do nothing"
    return sql


def _param(v):
    if isinstance(v, bool):
        return int(v)
    if hasattr(v, "item") and not isinstance(v, (bytes, bytearray, memoryview, str)):
        return v.item()     # numpy scalars
    return v


def _params(args) -> list:
    if args is None:
        return []
    if isinstance(args, dict):
        raise TypeError("named parameters are not used by husbot; pass a list")
    return [_param(a) for a in args]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class PostgresDatabase:
    """The part of `sqlite_utils.Database` husbot uses, on one psycopg connection."""

    backend = "postgresql"

    def __init__(self, url: str, connect_timeout: int = 10):
        if psycopg is None:  # pragma: no cover
            raise DatabaseUnavailable("HUSBOT_DATABASE_URL names PostgreSQL, but psycopg is not installed "
                                      "(pip install 'psycopg[binary]')")
        self.url = url
        self.connect_timeout = connect_timeout
        self.conn = self._connect()
        self._lock = threading.RLock()
        self._depth = 0       # open atomic() blocks
        self._pks: dict[str, list[str]] = {}

    def _connect(self):
        try:
            return psycopg.connect(self.url, autocommit=True, connect_timeout=self.connect_timeout)
        except psycopg.Error as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise DatabaseUnavailable(f"could not connect to PostgreSQL at {redact(self.url)}: {first}") from None

    def _run(self, sql: str, params: list):
        """One statement under the lock. A connection lost between transactions (the database restarted, a
        failover) is opened again once; inside a transaction the error stands, since its earlier writes are gone."""
        with self._lock:
            try:
                return self.conn.execute(sql, params)
            except psycopg.OperationalError:
                if not self.conn.closed or self._depth:
                    raise
            self.conn = self._connect()
            return self.conn.execute(sql, params)

    # -- the sqlite-utils surface ------------------------------------------------------------------------------
    def __getitem__(self, name: str) -> "PostgresTable":
        return PostgresTable(self, name)

    def execute(self, sql: str, params=None):
        """Run one statement; the rows are fetched into memory (psycopg's client-side cursor), so the caller may
        read them after the lock is released."""
        return self._run(translate(sql), _params(params))

    def query(self, sql: str, params=None):
        with self._lock:
            cur = self._run(translate(sql), _params(params))
            names = [d.name for d in cur.description or []]
            rows = cur.fetchall()
        for row in rows:
            yield dict(zip(names, row))

    @contextlib.contextmanager
    def atomic(self):
        """A transaction; nested blocks are savepoints (psycopg's own nesting), as in sqlite-utils."""
        with self._lock:
            if not self._depth and self.conn.closed:
                self.conn = self._connect()
            self._depth += 1
            try:
                with self.conn.transaction():
                    yield self
            finally:
                self._depth -= 1

    def table_names(self) -> list[str]:
        return [r[0] for r in self.execute(
            "select table_name from information_schema.tables where table_schema = current_schema() "
            "and table_type = 'BASE TABLE' order by table_name")]

    def primary_key(self, table: str) -> list[str]:
        if table not in self._pks:
            rows = self.execute(
                "select a.attname from pg_index i join pg_attribute a on a.attrelid = i.indrelid "
                "and a.attnum = any(i.indkey) where i.indrelid = to_regclass(?) and i.indisprimary "
                "order by array_position(i.indkey, a.attnum)", [_q(table)]).fetchall()
            pk = [r[0] for r in rows]
            if not pk:
                return []
            self._pks[table] = pk
        return self._pks[table]

    def copy_rows(self, table: str, columns: list[str], rows) -> None:
        """Bulk insert through COPY (`husbot db copy`): ~10x faster than one insert per row."""
        with self._lock:
            with self.conn.cursor() as cur:
                with cur.copy(f"copy {_q(table)} ({', '.join(_q(c) for c in columns)}) from stdin") as copy:
                    for row in rows:
                        copy.write_row([_param(v) for v in row])

    def close(self) -> None:
        self.conn.close()

    # -- PostgreSQL only -------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def advisory_lock(self, name: str):
        """Yield True when this process holds the cluster-wide lock `name` (False: another server holds it).
        On its own connection, so the lock ends with the process even on SIGKILL, and two jobs of one process
        exclude each other too."""
        conn = psycopg.connect(self.url, autocommit=True)
        try:
            got = conn.execute("select pg_try_advisory_lock(hashtext(%s))", [name]).fetchone()[0]
            yield bool(got)
        finally:
            conn.close()


class PostgresTable:
    def __init__(self, db: PostgresDatabase, name: str):
        self.db, self.name = db, name
        self.last_pk = None

    # -- schema ------------------------------------------------------------------------------------------------
    def create(self, columns: dict, pk=None, foreign_keys=(), not_null=(), if_not_exists: bool = False):
        pks = [pk] if isinstance(pk, str) else list(pk or [])
        defs = []
        for col, typ in columns.items():
            sql_type = _TYPES.get(typ, "text")
            d = f"{_q(col)} {sql_type}"
            if pks == [col] and typ is int:
                d += " generated by default as identity"     # why: sqlite-utils' integer primary key counts up too
            if col in (not_null or ()):
                d += " not null"
            defs.append(d)
        if pks:
            defs.append(f"primary key ({', '.join(_q(c) for c in pks)})")
        for fk in foreign_keys or ():
            col, other, other_col = fk
            defs.append(f"foreign key ({_q(col)}) references {_q(other)}({_q(other_col)})")
        exists = "if not exists " if if_not_exists else ""
        self.db.execute(f"create table {exists}{_q(self.name)} ({', '.join(defs)})")
        return self

    def create_index(self, columns: list[str], unique: bool = False, if_not_exists: bool = False,
                     index_name: str | None = None):
        name = index_name or f"idx_{self.name}_{'_'.join(columns)}"
        self.db.execute(f"create {'unique ' if unique else ''}index {'if not exists ' if if_not_exists else ''}"
                        f"{_q(name)} on {_q(self.name)} ({', '.join(_q(c) for c in columns)})")
        return self

    def add_column(self, name: str, typ=str):
        self.db.execute(f"alter table {_q(self.name)} add column if not exists {_q(name)} {_TYPES.get(typ, 'text')}")
        return self

    @property
    def columns_dict(self) -> dict:
        rows = self.db.execute("select column_name, data_type from information_schema.columns "
                               "where table_schema = current_schema() and table_name = ? order by ordinal_position",
                               [self.name]).fetchall()
        return {name: _PY_TYPES.get(t, str) for name, t in rows}

    # -- rows --------------------------------------------------------------------------------------------------
    def _pk(self, pk=None) -> list[str]:
        if pk:
            return [pk] if isinstance(pk, str) else list(pk)
        found = self.db.primary_key(self.name)
        if not found:
            raise ValueError(f"table {self.name} has no primary key")
        return found

    def insert(self, record: dict, pk=None, ignore: bool = False):
        keys = self._pk(pk)
        sql = (f"insert into {_q(self.name)} ({', '.join(_q(c) for c in record)}) "
               f"values ({', '.join('?' * len(record))})" + (" on conflict do nothing" if ignore else "")
               + f" returning {', '.join(_q(k) for k in keys)}")
        row = self.db.execute(sql, list(record.values())).fetchone()
        self.last_pk = None if row is None else (row[0] if len(row) == 1 else tuple(row))
        return self

    def upsert(self, record: dict, pk=None):
        keys = self._pk(pk)
        rest = [c for c in record if c not in keys]
        action = (f"do update set {', '.join(f'{_q(c)} = excluded.{_q(c)}' for c in rest)}" if rest else "do nothing")
        self.db.execute(f"insert into {_q(self.name)} ({', '.join(_q(c) for c in record)}) "
                        f"values ({', '.join('?' * len(record))}) on conflict ({', '.join(_q(k) for k in keys)}) "
                        f"{action}", list(record.values()))
        self.last_pk = record[keys[0]] if len(keys) == 1 else tuple(record[k] for k in keys)
        return self

    def upsert_all(self, records, pk=None):
        with self.db.atomic():
            for r in records:
                self.upsert(r, pk=pk)
        return self

    def _where_pk(self, pk_values) -> tuple[str, list]:
        keys = self._pk()
        values = list(pk_values) if isinstance(pk_values, (list, tuple)) else [pk_values]
        if len(values) != len(keys):
            raise NotFoundError(f"{self.name}: need {len(keys)} key values")
        return " and ".join(f"{_q(k)} = ?" for k in keys), values

    def get(self, pk_values) -> dict:
        where, args = self._where_pk(pk_values)
        row = next(self.db.query(f"select * from {_q(self.name)} where {where}", args), None)
        if row is None:
            raise NotFoundError(f"{self.name}: no row {pk_values!r}")
        return row

    def update(self, pk_values, updates: dict | None = None):
        if not updates:
            self.get(pk_values)
            return self
        where, args = self._where_pk(pk_values)
        sets = ", ".join(f"{_q(c)} = ?" for c in updates)
        cur = self.db.execute(f"update {_q(self.name)} set {sets} where {where}", [*updates.values(), *args])
        if cur.rowcount == 0:
            raise NotFoundError(f"{self.name}: no row {pk_values!r}")
        return self

    def rows_where(self, where: str | None = None, where_args=None, order_by: str | None = None,
                   select: str = "*", limit: int | None = None, offset: int | None = None):
        sql = f"select {select} from {_q(self.name)}"
        if where:
            sql += f" where {where}"
        if order_by:
            sql += f" order by {order_by}"
        if limit is not None:
            sql += f" limit {int(limit)}"
        if offset is not None:
            sql += f" offset {int(offset)}"
        return self.db.query(sql, where_args)

    @property
    def count(self) -> int:
        return self.db.execute(f"select count(*) from {_q(self.name)}").fetchone()[0]


def reset_identities(db: PostgresDatabase) -> None:
    """After rows were copied in with their own ids: let each identity column count on from the highest id."""
    rows = db.execute("select table_name, column_name from information_schema.columns "
                      "where table_schema = current_schema() and is_identity = 'YES'").fetchall()
    for table, column in rows:
        top = f"coalesce((select max({_q(column)}) from {_q(table)}), 0) + 1"
        db.execute(f"select setval(pg_get_serial_sequence(?, ?), {top}, false)", [_q(table), column])

"""Integrity check of a data folder and its database: is the store sound, and does every row have what it points at?

The database is SQLite in the data folder or PostgreSQL (HUSBOT_DATABASE_URL); the same queries ask both whether every
table of the schema is there and every row has what it points at. Only the first step differs: SQLite checks its
pages and foreign keys with pragmas, PostgreSQL enforces both itself, so there we only ask for unvalidated keys.

Problems make the check fail; warnings are states the next `husbot index` or start repairs by itself (a stale search
cache, duplicate marks not computed yet). Reads only: opening the folder to check it migrates and writes nothing.
"""
from __future__ import annotations

import functools
import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import datafolder
from .lexical import FORMAT as LEXICAL_FORMAT
from .store import MIGRATIONS


@dataclass
class CheckReport:
    home: str
    database: str = ""      # the SQLite file, or the PostgreSQL URL without its password
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    counts: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict:
        return {"ok": self.ok, "home": self.home, "database": self.database, "problems": self.problems,
                "warnings": self.warnings, "counts": self.counts}


def _rows(db: sqlite3.Connection, sql: str, args=()) -> list[tuple]:
    return db.execute(sql, args).fetchall()


def _ids(rows) -> str:
    ids = [str(r[0]) for r in rows]
    return ", ".join(ids[:10]) + (f" … ({len(ids)} in all)" if len(ids) > 10 else "")


def check(home: str | Path, database_url: str = "") -> CheckReport:
    """Check the data folder at `home` and the database the settings name (`database_url`, empty = SQLite in `home`);
    never raises for a damaged store, it reports it."""
    from .postgres import is_postgres_url

    home = Path(home)
    if is_postgres_url(database_url):
        report = _check_postgres(home, database_url)
    else:
        report = _check_sqlite_file(home, datafolder.database_path(home, database_url))
    for f in datafolder.stale_temp_files(home):
        report.warnings.append(f"{f.name}: a temporary file left by a killed process (removed at the next rebuild)")
    return report


def _check_sqlite_file(home: Path, path: Path) -> CheckReport:
    report = CheckReport(str(home), str(path))
    if not path.exists():
        report.problems.append(f"{path}: no database here (index something first, or restore a backup)")
        return report
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error as e:
        report.problems.append(f"{path}: cannot open: {e}")
        return report
    try:
        with db:
            db.execute("begin")   # one read transaction: a consistent picture while `husbot serve` writes
            # why stop early: on a damaged file the other queries can fail or mislead
            if _check_sqlite(db, report):
                _check_contents(db, home, report, _sqlite_columns(db))
    except sqlite3.DatabaseError as e:
        report.problems.append(f"{path}: {e}")
    finally:
        db.close()
    return report


def _check_postgres(home: Path, url: str) -> CheckReport:
    from .postgres import DatabaseUnavailable, PostgresDatabase, psycopg, redact

    report = CheckReport(str(home), redact(url))
    try:
        db = PostgresDatabase(url)
    except DatabaseUnavailable as e:
        report.problems.append(str(e))
        return report
    try:
        with db.atomic():
            # one read-only snapshot: a consistent picture while servers write, and a check can never write
            db.execute("set transaction isolation level repeatable read, read only")
            _check_postgres_keys(db, report)
            _check_contents(db, home, report, _postgres_columns(db))
    except psycopg.Error as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        report.problems.append(f"{report.database}: {first}")
    finally:
        db.close()
    return report


def _check_contents(db, home: Path, report: CheckReport, columns: dict[str, set[str]]) -> None:
    """What both backends are asked: schema version and tables, then every row against what it points at."""
    tables = set(columns)
    # why stop early: without the schema's tables the other queries fail or mislead
    if not (_check_schema(db, report, tables) and _check_tables(report, columns)):
        return
    _check_passages(db, report)
    _check_minutes(db, report, tables)
    _check_status(db, report, tables)
    _check_caches(db, home, report)
    _count(db, report, tables)


def _check_sqlite(db, report: CheckReport) -> bool:
    result = [r[0] for r in _rows(db, "pragma integrity_check")]
    if result != ["ok"]:
        report.problems.extend(f"SQLite integrity: {r}" for r in result[:20])
        return False
    for table, rowid, parent, _ in _rows(db, "pragma foreign_key_check")[:20]:
        report.problems.append(f"{table} row {rowid} points at a missing {parent} row")
    return True


def _check_postgres_keys(db, report: CheckReport) -> None:
    """PostgreSQL enforces foreign keys itself; only a key added NOT VALID may still hide older orphans (the orphan
    queries below find them either way)."""
    for name, table in _rows(db, "select c.conname, c.conrelid::regclass::text from pg_constraint c "
                                 "where c.contype = 'f' and not c.convalidated "
                                 "and c.connamespace = current_schema()::regnamespace"):
        report.problems.append(f"foreign key {name} on {table} is not validated: its rows were never checked")


def _sqlite_columns(db) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for table, column in _rows(db, "select m.name, p.name from sqlite_master m join pragma_table_info(m.name) p "
                                   "where m.type = 'table' and m.name not like 'sqlite_%'"):
        out.setdefault(table, set()).add(column)
    return out


def _postgres_columns(db) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for table, column in _rows(db, "select c.table_name, c.column_name from information_schema.columns c "
                                   "join information_schema.tables t on t.table_schema = c.table_schema "
                                   "and t.table_name = c.table_name where c.table_schema = current_schema() "
                                   "and t.table_type = 'BASE TABLE'"):
        out.setdefault(table, set()).add(column)
    return out


@functools.lru_cache(maxsize=None)
def _expected(version: int) -> dict[str, frozenset[str]]:
    """The tables and columns migrations 1..version make: run them on an empty in-memory SQLite database."""
    import sqlite_utils

    db = sqlite_utils.Database(memory=True)
    for migration in MIGRATIONS[:version]:
        migration(db)
    return {table: frozenset(cols) for table, cols in _sqlite_columns(db.conn).items()}


def _check_tables(report: CheckReport, columns: dict[str, set[str]]) -> bool:
    """Every table and column of the schema version must be there; False when the passage tables themselves are
    missing (the other checks ask for tables they need before reading them)."""
    version = report.counts.get("schema_version", 0)
    expected = _expected(version)
    missing = sorted(set(expected) - set(columns))
    if missing:
        report.problems.append(f"table(s) missing for schema version {version}: {', '.join(missing)}")
    for table in sorted(set(expected) & set(columns)):
        gone = sorted(expected[table] - columns[table])
        if gone:
            report.problems.append(f"{table} lacks column(s) of schema version {version}: {', '.join(gone)}")
    return not set(missing) & {"meta", "documents", "passages", "embeddings"}


def _check_schema(db, report: CheckReport, tables: set[str]) -> bool:
    """False when the tables cannot be read as this husbot's schema."""
    row = db.execute("select value from meta where key='schema_version'").fetchone() if "meta" in tables else None
    if row is None:
        report.problems.append("no schema version in meta: not a husbot database, or its first start was cut short")
        return False
    version, known = int(row[0]), len(MIGRATIONS)
    report.counts["schema_version"] = version
    if version > known:
        report.problems.append(f"schema version {version} is newer than this husbot knows ({known}); upgrade husbot")
        return False
    if version < known:
        report.warnings.append(f"schema version {version} is older than this husbot's ({known}); "
                               "`husbot migrate` or the next start migrates it")
    return True


def _report_rows(db, out: list[str], checks: list[tuple[str, str]]) -> None:
    """For each (query, message): when the query finds rows, add the message ({n} rows, their {ids})."""
    for sql, message in checks:
        rows = _rows(db, sql)
        if rows:
            out.append(message.format(n=len(rows), ids=_ids(rows)))


def _check_passages(db, report: CheckReport) -> None:
    p = report.problems
    _report_rows(db, p, [
        ("select p.id from passages p left join documents d on d.id = p.doc_id where d.id is null",
         "{n} passage(s) without a document: {ids}"),
        ("select p.id from passages p left join embeddings e on e.passage_id = p.id where e.passage_id is null",
         "{n} passage(s) without an embedding: {ids}"),
        ("select e.passage_id from embeddings e left join passages p on p.id = e.passage_id where p.id is null",
         "{n} embedding(s) without a passage: {ids}"),
    ])
    dim = db.execute("select value from meta where key='embed_dim'").fetchone()
    if dim:
        rows = _rows(db, "select passage_id from embeddings where length(vector) != ?", [int(dim[0]) * 4])
        if rows:
            p.append(f"{len(rows)} embedding(s) not of the store's dimension {dim[0]}: {_ids(rows)}")
    rows = _rows(db, "select d.name, d.n_passages, count(p.id) from documents d left join passages p "
                     "on p.doc_id = d.id group by d.id having count(p.id) != coalesce(d.n_passages, 0)")
    for name, said, found in rows[:20]:
        p.append(f"document {name} says {said} passages but has {found}")
    _report_rows(db, p, [("select p.id from passages p where p.dup_of is not null "
                          "and not exists (select 1 from passages o where o.id = p.dup_of)",
                          "{n} passage(s) marked as the twin of a passage that is gone: {ids}; "
                          "run `husbot index` to mark duplicates again")])
    n, top = db.execute("select count(*), coalesce(max(id), 0) from passages").fetchone()
    through = db.execute("select value from meta where key='dup_checked_through'").fetchone()
    if n >= 2 and top > int(through[0] if through else 0):
        report.warnings.append("near-duplicates not yet marked for the newest passages; the next `husbot index` "
                               "marks them")


def _check_minutes(db, report: CheckReport, tables: set[str]) -> None:
    if "minutes" not in tables:
        return
    _report_rows(db, report.problems, [
        *((f"select t.minutes_id from {table} t left join minutes m on m.id = t.minutes_id where m.id is null "
           "group by t.minutes_id", f"{table} point at minutes that are gone: {{ids}}")
          for table in ("minutes_messages", "minutes_versions", "action_items")),
        ("select m.id from minutes m where m.version > 0 and not exists (select 1 from minutes_versions v "
         "where v.minutes_id = m.id and v.version = m.version)", "minutes without their current draft version: {ids}"),
        ("select d.path from documents d where d.path like 'minutes://%' and not exists "
         "(select 1 from minutes m where 'minutes://' || m.id = d.path and m.status = 'accepted')",
         "searchable minutes that are not accepted minutes: {ids}"),
    ])
    _report_rows(db, report.warnings, [
        ("select m.id from minutes m where m.status = 'accepted' and (m.indexed_at is null or not exists "
         "(select 1 from documents d where d.path = 'minutes://' || m.id))",
         "accepted minutes not searchable yet: {ids}; run `husbot minutes reindex`")])


def _check_status(db, report: CheckReport, tables: set[str]) -> None:
    """Status answers (bot/status/) and their search copies, `status://PILOT/MONTH`: one document per pilot and month
    holding its latest version (indexer/status.py); an answer with every field empty has none."""
    if "status_answers" not in tables:
        return
    _report_rows(db, report.problems, [
        ("select d.path from documents d where d.path like 'status://%' and not exists "
         "(select 1 from status_answers a where 'status://' || a.pilot || '/' || a.month = d.path)",
         "searchable status answers that are not stored answers: {ids}")])
    latest = _rows(db, "select a.pilot, a.month, a.indexed_at, a.answers, d.id from status_answers a "
                       "left join documents d on d.path = 'status://' || a.pilot || '/' || a.month "
                       "where a.version = (select max(b.version) from status_answers b "
                       "where b.pilot = a.pilot and b.month = a.month) order by a.month, a.pilot")
    missing = [(f"{pilot} {month}",) for pilot, month, indexed_at, answers, doc in latest
               if indexed_at is None or (doc is None and _has_text(answers))]
    if missing:
        report.warnings.append(f"status answers not searchable yet (latest version): {_ids(missing)}; "
                               "run `husbot status reindex`")


def _has_text(answers: str | None) -> bool:
    try:
        values = json.loads(answers or "{}")
    except ValueError:
        return True
    return isinstance(values, dict) and any(str(v or "").strip() for v in values.values())


def _check_caches(db, home: Path, report: CheckReport) -> None:
    """The FAISS and lexical files are caches of SQLite: a stale or damaged one is rebuilt at the next start."""
    from . import vectors as vec
    from .lexical import LexicalIndex

    gen = db.execute("select value from meta where key='generation'").fetchone()
    gen = int(gen[0]) if gen else 0
    ids = np.asarray([r[0] for r in _rows(db, "select p.id from passages p join documents d on d.id = p.doc_id "
                                              "order by p.doc_id, p.seq")], np.int64)
    state = datafolder.cache_state(home)
    # why: with HUSBOT_LEXICAL=pg_trgm the lexical index lives in the database; there is no lexical.npz to expect
    in_database = state.get("lexical") == "pg_trgm"
    files = [home / name for name in datafolder.CACHES if not (in_database and name == "lexical.npz")]
    if not all(f.exists() for f in files):
        report.warnings.append("search indexes not built yet; the next start builds them")
        return
    if state.get("generation") != gen or state.get("passages") != len(ids) or \
            state.get("lexical") not in (LEXICAL_FORMAT, "pg_trgm"):
        report.warnings.append(f"search indexes are stale (built for generation {state.get('generation')}, store is at "
                               f"{gen}); the next start rebuilds them")
        return
    try:
        dense = vec.load(home / "passages.faiss")
        lexical_rows = len(ids) if in_database else LexicalIndex.load(home / "lexical.npz").weights.shape[0]
    except Exception as e:  # noqa: BLE001 - a damaged cache is a finding, not a crash
        report.warnings.append(f"search indexes unreadable ({type(e).__name__}); the next start rebuilds them")
        return
    faiss_ids = vec.ids(dense)
    if not np.array_equal(faiss_ids, ids):
        missing, extra = np.setdiff1d(ids, faiss_ids), np.setdiff1d(faiss_ids, ids)
        report.warnings.append(f"FAISS index does not match the passages ({len(missing)} missing, {len(extra)} unknown) "
                               "although its stamp says fresh; the next start rebuilds it")
    if lexical_rows != len(ids):
        report.warnings.append(f"lexical index has {lexical_rows} rows for {len(ids)} passages; the next start "
                               "rebuilds it")


def _count(db, report: CheckReport, tables: set[str]) -> None:
    c = report.counts
    for table in ("documents", "passages", "embeddings", "minutes", "action_items", "status_answers"):
        if table in tables:
            c[table] = db.execute(f"select count(*) from {table}").fetchone()[0]
    c["kinds"] = {k or "": n for k, n in _rows(db, "select kind, count(*) from passages group by 1 order by 1")}
    row = db.execute("select value from meta where key='embed_model'").fetchone()
    c["model"] = row[0] if row else None

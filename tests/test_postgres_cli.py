"""The command line on PostgreSQL (#9): `husbot migrate`, `db copy` from a SQLite folder, `check`, `backup`/`restore`
refused, `person forget`, and the everyday commands with HUSBOT_DATABASE_URL set.

The session's throwaway PostgreSQL server (conftest `pg_server`), a fresh empty database for each test.
"""
from __future__ import annotations

import itertools
import json
import os
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import pytest
from click.testing import CliRunner

from adapters.cli.main import cli
from bot import Bot
from bot.privacy import Privacy
from bot.status import links
from indexer import index_paths
from knowledge import Knowledge, Settings
from knowledge.store import MIGRATIONS
from support import CountingEmbedder, write_corpus

PASSWORD = "s3cret-Pa55"
QUESTIONS = ["rekruttere fagmiljø Nordfjordeid", "Innovasjonshub Orkland frokostmøter", "Mørketidsmagi Narvik lunsj"]


@pytest.fixture
def pg(pg_server):
    return pg_server


_names = itertools.count()


@pytest.fixture
def pg_url(pg) -> str:
    """A fresh, empty database (not migrated: `husbot migrate` is under test)."""
    return pg.create_database(f"cli_{os.getpid()}_{next(_names)}")


def with_password(url: str) -> str:
    """The URL with a password in it (the test server trusts every local login, so it is ignored)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.username}:{PASSWORD}@{parts.hostname}:{parts.port}"))


def husbot(home, *args, url: str = "", input: str | None = None):
    """`husbot --home HOME ARGS...` in-process with the hashing embedder and HUSBOT_DATABASE_URL=url."""
    environ = {k: None for k in os.environ if k.startswith("HUSBOT_")}
    environ.update({"HUSBOT_EMBEDDER": "hashing", "HUSBOT_DATABASE_URL": url or None})
    return CliRunner().invoke(cli, ["--home", str(home), *args], env=environ, input=input)


def pg_knowledge(tmp_path, url: str, embedder=None) -> Knowledge:
    return Knowledge(Settings.load(environ={}, home=str(tmp_path / "pg-home"), database_url=url),
                     embedder=embedder or CountingEmbedder())


def rows(k: Knowledge) -> dict:
    """What must survive a copy: documents, passages with their texts, and the vectors, by id."""
    db = k.store.db
    ids, vectors = k.store.vectors()
    return {"documents": [tuple(r) for r in db.execute("select id, path, name, title, sha256, n_passages "
                                                       "from documents order by id").fetchall()],
            "passages": [tuple(r) for r in db.execute("select id, doc_id, seq, text, shadow, display, pilots "
                                                      "from passages order by id").fetchall()],
            "vectors": (ids.tolist(), vectors.round(6).tolist())}


@pytest.fixture
def copied(small_index, embedder, pg_url, tmp_path):
    """The three short reports indexed into SQLite (with a status-link key), copied to PostgreSQL by `db copy`."""
    links.key(small_index.home)
    result = husbot(tmp_path / "cli-home", "db", "copy", "--from", f"sqlite:///{small_index.home}",
                    "--to", with_password(pg_url))
    assert result.exit_code == 0, result.output
    return result


# -- husbot migrate ------------------------------------------------------------------------------------------------

def test_migrate_on_an_empty_postgres_database_applies_every_migration_and_check_says_when_pending(pg_url, tmp_path):
    known = len(MIGRATIONS)
    url = with_password(pg_url)

    pending = husbot(tmp_path / "home", "migrate", "--check", url=url)
    assert pending.exit_code == 1, pending.output
    assert f"skjema 0, denne husbot har {known}: {known} migrering(er) venter" in pending.stdout

    done = husbot(tmp_path / "home", "migrate", url=url)
    assert done.exit_code == 0, done.output
    assert f"skjema 0 → {known}" in done.stdout

    assert husbot(tmp_path / "home", "migrate", "--check", url=url).exit_code == 0
    again = husbot(tmp_path / "home", "migrate", url=url)
    assert again.exit_code == 0 and f"skjema {known}, allerede oppdatert" in again.stdout
    for result in (pending, done, again):
        assert PASSWORD not in result.output and "***" in result.stdout
    k = pg_knowledge(tmp_path, pg_url)
    assert {"documents", "passages", "embeddings", "minutes", "status_answers"} <= set(k.store.db.table_names())
    k.close()


def test_migrate_check_on_a_new_sqlite_folder_is_pending_and_migrate_creates_it(tmp_path):
    home = tmp_path / "home"

    assert husbot(home, "migrate", "--check").exit_code == 1
    assert not (home / "husbot.db").exists()
    assert f"skjema 0 → {len(MIGRATIONS)}" in husbot(home, "migrate").stdout
    assert husbot(home, "migrate", "--check").exit_code == 0


# -- husbot db copy ------------------------------------------------------------------------------------------------

def test_db_copy_moves_a_sqlite_folder_to_postgres_without_re_embedding(small_index, embedder, pg_url, tmp_path):
    link_key = links.key(small_index.home)
    before = rows(small_index)
    hits = {q: [(h.passage.id, h.passage.document) for h in small_index.search(q, 3)] for q in QUESTIONS}
    embedded = embedder.passages_embedded

    result = husbot(tmp_path / "cli-home", "db", "copy", "--from", f"sqlite:///{small_index.home}",
                    "--to", with_password(pg_url))

    assert result.exit_code == 0, result.output
    assert "  documents: 3 rader" in result.stdout and "  passages: 3 rader" in result.stdout
    assert "  embeddings: 3 rader" in result.stdout and "Kopierte" in result.stdout
    assert PASSWORD not in result.output
    assert embedder.passages_embedded == embedded
    fresh = CountingEmbedder()
    k = pg_knowledge(tmp_path, pg_url, fresh)
    try:
        assert k.store.backend == "postgresql"
        assert rows(k) == before
        assert {q: [(h.passage.id, h.passage.document) for h in k.search(q, 3)] for q in QUESTIONS} == hits
        assert fresh.passage_calls == 0, "the copy or its first search embedded passages again"
        assert k.store.shared_secret(links.KEY_FILE) == link_key
        # new rows count on from the copied ids
        assert k.store.db["people"].insert({"name": "Ny", "email": "ny@example.no"}).last_pk == 1
        doc_ids = [d for d, *_ in before["documents"]]
        assert k.store.db["documents"].insert({"path": "/ny.txt", "name": "ny.txt"}).last_pk == max(doc_ids) + 1
    finally:
        k.close()


def test_db_copy_into_a_database_that_holds_data_is_refused_and_changes_nothing(copied, small_index, pg_url,
                                                                              tmp_path):
    k = pg_knowledge(tmp_path, pg_url)
    before = rows(k)
    k.close()

    result = husbot(tmp_path / "cli-home", "db", "copy", "--from", f"sqlite:///{small_index.home}",
                    "--to", with_password(pg_url))

    assert result.exit_code == 1
    assert "is not empty" in result.stderr and "copy into an empty database" in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.strip()]) == 1
    assert "Traceback" not in result.output and PASSWORD not in result.output
    k = pg_knowledge(tmp_path, pg_url)
    assert rows(k) == before
    k.close()


def test_db_copy_from_a_folder_without_a_database_is_refused(pg_url, tmp_path):
    result = husbot(tmp_path / "cli-home", "db", "copy", "--from", f"sqlite:///{tmp_path / 'nothing'}",
                    "--to", pg_url)

    assert result.exit_code == 1 and "no husbot database to copy from" in result.stderr
    assert not (tmp_path / "nothing").exists()


def test_db_copy_back_from_postgres_to_sqlite_keeps_rows_and_the_link_key(copied, small_index, pg_url, tmp_path):
    back = tmp_path / "back"

    result = husbot(tmp_path / "cli-home", "db", "copy", "--from", pg_url, "--to", f"sqlite:///{back}")

    assert result.exit_code == 0, result.output
    k = Knowledge(Settings.load(environ={}, home=str(back)), embedder=CountingEmbedder())
    assert rows(k) == rows(small_index)
    k.close()
    assert links.key(back) == links.key(small_index.home)


# -- husbot check --------------------------------------------------------------------------------------------------

def test_check_passes_on_the_copied_postgres_store(copied, pg_url, tmp_path):
    result = husbot(tmp_path / "cli-home", "check", "--json", url=with_password(pg_url))

    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["ok"] is True and out["problems"] == []
    assert out["counts"]["passages"] == out["counts"]["embeddings"] == 3
    assert out["counts"]["schema_version"] == len(MIGRATIONS)
    assert out["database"].startswith("postgresql://husbot:***@") and PASSWORD not in result.output


def test_check_on_postgres_lists_every_broken_reference_and_exits_non_zero(copied, pg_url, tmp_path):
    k = pg_knowledge(tmp_path, pg_url)
    db = k.store.db
    pid = db.execute("select min(id) from passages").fetchone()[0]
    db.execute("delete from embeddings where passage_id = ?", [pid])
    db.execute("insert into embeddings (passage_id, vector) values (9999, ?)", [np.zeros(256, np.float32).tobytes()])
    db.execute("update passages set dup_of = 8888 where id = ?", [pid])
    db.execute("drop table api_tokens")
    k.close()

    result = husbot(tmp_path / "cli-home", "check", url=with_password(pg_url))

    assert result.exit_code == 1
    problems = result.stderr
    assert f"1 passage(s) without an embedding: {pid}" in problems
    assert "1 embedding(s) without a passage: 9999" in problems
    assert "twin of a passage that is gone" in problems
    assert "table(s) missing for schema version" in problems and "api_tokens" in problems
    assert "Traceback" not in result.output and PASSWORD not in result.output


def test_check_of_an_unreachable_postgres_server_is_one_problem_without_the_password(pg, tmp_path):
    url = with_password(pg.url("no_such_database"))

    result = husbot(tmp_path / "cli-home", "check", "--json", url=url)

    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    assert len(problems) == 1 and "could not connect to PostgreSQL" in problems[0]
    assert PASSWORD not in result.output


# -- backup and restore --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", [["backup", "{dest}"], ["restore", "{dest}", "--force"]])
def test_backup_and_restore_are_refused_on_postgres_with_what_to_use_instead(command, pg_url, tmp_path):
    dest = tmp_path / "dest"
    dest.mkdir()
    args = [a.format(dest=dest) for a in command]

    result = husbot(tmp_path / "cli-home", *args, url=with_password(pg_url))

    assert result.exit_code == 1
    assert len([line for line in result.stderr.splitlines() if line.strip()]) == 1
    assert "pg_dump" in result.stderr and "pg_restore" in result.stderr
    assert PASSWORD not in result.output and "Traceback" not in result.output
    assert list(dest.iterdir()) == []


# -- person forget -------------------------------------------------------------------------------------------------

async def test_person_forget_on_postgres_leaves_the_person_in_no_row(pg_url, tmp_path):
    from test_privacy import EMAIL, NAME, NOW, PEOPLE, SLACK, fill

    k = pg_knowledge(tmp_path, pg_url)
    assert index_paths(k, [write_corpus(tmp_path / "corpus")]).errors == []
    bot = Bot(k)
    bot.roster.import_csv(PEOPLE)
    bot.status.round.now = lambda: NOW
    await fill(bot)
    assert NAME in everything(k)
    k.close()

    done = husbot(tmp_path / "pg-home", "person", "forget", EMAIL, "--yes", url=with_password(pg_url))

    assert done.exit_code == 0, done.output
    assert "Slettet 1 fra personlisten." in done.stdout and "slettet bruker #1" in done.stdout
    assert "Indekserte på nytt: referat 1, status Narvik 2025-04." in done.stdout
    assert "PostgreSQL: VACUUM kjørt" in done.stderr and PASSWORD not in done.output
    k = pg_knowledge(tmp_path, pg_url)
    try:
        text = everything(k).lower()
        for secret in (NAME, EMAIL, SLACK, "Kvitebjørnsdatter"):
            assert secret.lower() not in text, secret
        assert "slettet bruker #1" in text
        after = Privacy(Bot(k)).export(EMAIL)
        assert after["roster"] is None and not any(v for v in after.values() if isinstance(v, list))
        assert any("slettet bruker #1 sender husleieavtalen" in h.passage.text
                   for h in k.search("husleieavtalen Kvitebjørnsdatter", k=20))
    finally:
        k.close()
    assert json.loads(husbot(tmp_path / "pg-home", "check", "--json", url=pg_url).stdout)["problems"] == []


def everything(k: Knowledge) -> str:
    """Every text value in every table of the database."""
    out = []
    for table in k.store.db.table_names():
        for row in k.store.db.query(f"select * from {table}"):
            out.extend(str(v) for v in row.values() if isinstance(v, str))
    return "\n".join(out)


# -- the everyday commands with HUSBOT_DATABASE_URL ----------------------------------------------------------------

def test_index_stats_search_and_ask_work_on_postgres(pg_url, corpus_dir, tmp_path):
    home, url = tmp_path / "cli-home", with_password(pg_url)

    indexed = husbot(home, "index", str(corpus_dir), "--json", url=url)
    assert indexed.exit_code == 0, indexed.output
    assert json.loads(indexed.stdout)["passages"] == 3
    stats = json.loads(husbot(home, "stats", "--json", url=url).stdout)
    assert (stats["documents"], stats["passages"], stats["embeddings"]) == (3, 3, 3)
    hits = json.loads(husbot(home, "search", "Innovasjonshub Orkland", "--json", url=url).stdout)
    assert hits[0]["document"] == "orkland-statusrapport.txt"
    asked = husbot(home, "ask", "Hva tilbyr Innovasjonshub Orkland?", "--json", url=url)
    assert asked.exit_code == 0, asked.output
    assert json.loads(asked.stdout)["citations"]
    assert not (home / "husbot.db").exists(), "the data folder must hold only search caches on PostgreSQL"

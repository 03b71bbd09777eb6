"""What only the PostgreSQL store has to get right: the SQL it translates, migrations run by two servers starting at
once, a lost connection, and clear errors for a database that is not there (issue 9)."""
from __future__ import annotations

import threading

import psycopg
import pytest

from knowledge import Knowledge, Settings
from knowledge.embedder import HashingEmbedder
from knowledge.errors import IncompatibleStore
from knowledge.postgres import DatabaseUnavailable, redact, translate
from knowledge.store import MIGRATIONS, PostgresStore, open_store

pytestmark = pytest.mark.backends("postgresql")


def test_placeholders_become_psycopg_ones_but_not_inside_string_literals():
    assert translate("select * from t where a = ? and b = 'what?' and c like 'x%'") == \
        "select * from t where a = %s and b = 'what?' and c like 'x%%'"
    assert translate("insert or ignore into t(a) values (?)") == "insert into t(a) values (%s) on conflict do nothing"


def test_a_url_with_a_password_is_shown_without_it():
    assert redact("postgresql://husbot:hemmelig@db.example.no:5432/husbot") == \
        "postgresql://husbot:***@db.example.no:5432/husbot"
    assert redact("postgresql://husbot@db/husbot") == "postgresql://husbot@db/husbot"


def test_an_unreachable_database_is_a_clear_error_without_the_password(tmp_path, pg_server):
    url = f"postgresql://husbot:hemmelig@127.0.0.1:{pg_server.port + 1 if pg_server.port < 65535 else 1}/husbot"
    with pytest.raises(DatabaseUnavailable) as e:
        Knowledge(Settings.load(environ={}, home=str(tmp_path), database_url=url), embedder=HashingEmbedder())
    assert "could not connect to PostgreSQL at postgresql://husbot:***@127.0.0.1" in str(e.value)
    assert "hemmelig" not in str(e.value)


def test_a_database_url_of_another_kind_is_refused(tmp_path):
    with pytest.raises(IncompatibleStore, match="must start with postgresql:// or sqlite:///"):
        open_store(tmp_path, "mysql://husbot@db/husbot")


def test_two_servers_starting_at_once_migrate_an_empty_database_once(tmp_path, pg_server):
    url = pg_server.create_database("fresh_for_migration")
    stores, errors = [], []

    def start(n):
        try:
            stores.append(PostgresStore(url, tmp_path / f"s{n}"))
        except Exception as e:  # the test reports it below
            errors.append(e)

    threads = [threading.Thread(target=start, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert {s.schema_version() for s in stores} == {len(MIGRATIONS)}
    for s in stores:
        s.close()


def test_a_schema_newer_than_this_husbot_is_refused(tmp_path, database_url):
    store = open_store(tmp_path, database_url)
    store.set_meta("schema_version", len(MIGRATIONS) + 1)
    store.close()
    with pytest.raises(IncompatibleStore, match="newer than this husbot understands"):
        open_store(tmp_path, database_url)


def test_a_connection_lost_between_transactions_is_opened_again(knowledge, pg_server):
    store = knowledge.store
    pid = store.db.execute("select pg_backend_pid()").fetchone()[0]
    with psycopg.connect(pg_server.url(), autocommit=True) as admin:
        admin.execute("select pg_terminate_backend(%s)", [pid])
    assert store.db.execute("select pg_backend_pid()").fetchone()[0] != pid
    store.set_meta("still", "here")
    assert store.get_meta("still") == "here"


def test_a_connection_lost_inside_a_transaction_fails_that_transaction_and_writes_nothing(knowledge, pg_server):
    store = knowledge.store
    pid = store.db.execute("select pg_backend_pid()").fetchone()[0]
    with pytest.raises(psycopg.OperationalError):
        with store.db.atomic():
            store.set_meta("half", "written")
            with psycopg.connect(pg_server.url(), autocommit=True) as admin:
                admin.execute("select pg_terminate_backend(%s)", [pid])
            store.set_meta("other", "half")
    assert store.get_meta("half") is None and store.get_meta("other") is None


def test_a_data_folder_pointed_at_another_database_rebuilds_its_search_caches(tmp_path, pg_server, embedder):
    """Two databases with the same generation, passage count and ids: the caches built for one are not used for
    the other (judged by those three alone, they would be)."""
    import json

    from indexer import index_paths
    from support import write_corpus
    corpus = write_corpus(tmp_path / "corpus")
    built = []
    for name in ("same_a", "same_b"):
        k = Knowledge(Settings.load(environ={}, home=str(tmp_path / name),
                                    database_url=pg_server.create_database(name)), embedder=embedder)
        index_paths(k, [corpus])
        built.append((k.store.generation(), [p.id for p in k.store.passages()], k.store.identity(), k.settings))
        k.close()
    (gen_a, ids_a, id_a, _), (gen_b, ids_b, id_b, settings_b) = built
    assert (gen_a, ids_a) == (gen_b, ids_b) and id_a != id_b
    home = tmp_path / "same_a"          # caches built for the first database ...
    before = (home / "lexical.npz").stat().st_mtime_ns
    k = Knowledge(Settings.load(environ={}, home=str(home), database_url=settings_b.database_url), embedder=embedder)
    k.retriever                         # ... and a server now pointed at the second
    k.close()
    assert json.loads((home / "index-state.json").read_text())["store"] == id_b
    assert (home / "lexical.npz").stat().st_mtime_ns != before


# -- SIGKILL during `husbot index` on PostgreSQL --------------------------------------------------------------------

PG_KILLS = int(__import__("os").environ.get("HUSBOT_PG_KILLS", "4"))


def _pg_snapshot(home, url) -> list:
    store = open_store(home, url)
    try:
        return [tuple(r) for r in store.db.execute(
            "select d.name, p.seq, p.text, (select d2.name || ':' || o.seq from passages o join documents d2 "
            "on d2.id = o.doc_id where o.id = p.dup_of) from passages p join documents d on d.id = p.doc_id "
            "order by d.name, p.seq").fetchall()]
    finally:
        store.close()


def test_index_killed_at_random_moments_on_postgresql_recovers_to_the_clean_build(tmp_path, pg_server):
    """As the SQLite kill test (test_crash_safety.py): every kill leaves the database as before or after a
    document, never half; the next `husbot index` completes and equals a clean build."""
    import os
    import random
    import shutil
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from knowledge.check import check
    from support import SAMPLE_CORPUS

    husbot = str(Path(sys.executable).with_name("husbot"))
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE_CORPUS, corpus)

    def index(home, url) -> subprocess.Popen:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("HUSBOT_")}
        environ.update({"HUSBOT_EMBEDDER": "hashing", "HUSBOT_DATABASE_URL": url, "HF_HUB_OFFLINE": "1"})
        return subprocess.Popen([husbot, "--home", str(home), "index", str(corpus)], env=environ,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    clean_url = pg_server.create_database("kill_clean")
    started = time.perf_counter()
    assert index(tmp_path / "clean", clean_url).wait(timeout=300) == 0
    duration = time.perf_counter() - started
    expected = _pg_snapshot(tmp_path / "clean", clean_url)
    assert len(expected) > 300

    rng = random.Random(9)
    killed = 0
    for n in range(PG_KILLS):
        url, home = pg_server.create_database(f"kill_{n}"), tmp_path / f"round-{n}"
        proc = index(home, url)
        time.sleep(rng.uniform(0.2, duration))
        proc.send_signal(signal.SIGKILL)
        killed += proc.wait() == -signal.SIGKILL
        assert index(home, url).wait(timeout=300) == 0, f"round {n}: the next index failed"
        report = check(home, url)
        assert report.ok and report.warnings == [], (n, report.problems, report.warnings)
        assert _pg_snapshot(home, url) == expected, f"round {n} differs from the clean build"
    assert killed >= PG_KILLS * 0.75, f"only {killed} of {PG_KILLS} runs were killed before finishing"

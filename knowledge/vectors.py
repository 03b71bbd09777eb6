"""The FAISS index over passage ids: exact inner product, supports removal, rebuilt from SQLite when stale."""
from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np


def build(ids: np.ndarray, vectors: np.ndarray, dim: int) -> faiss.Index:
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    if len(ids):
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))
    return index


def save(index: faiss.Index, path: Path) -> None:
    faiss.write_index(index, str(path))


def load(path: Path) -> faiss.Index:
    return faiss.read_index(str(path))


def ids(index: faiss.Index) -> np.ndarray:
    """The passage ids in the index, in the order they were added."""
    return faiss.vector_to_array(index.id_map).astype(np.int64) if hasattr(index, "id_map") else np.zeros(0, np.int64)


def search(index: faiss.Index, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    k = min(k, index.ntotal)
    if k <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    sims, ids = index.search(np.asarray(query, dtype=np.float32).reshape(1, -1), k)
    keep = ids[0] >= 0
    return ids[0][keep], sims[0][keep]

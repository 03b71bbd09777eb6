"""Hybrid retrieval: character-gram BM25 and e5 vectors fused by weighted reciprocal rank, with filters.

This is the one retrieval path: chat, CLI, evaluation and benchmarks all call `Retriever.search`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import vectors as vec
from .errors import EmptyQuestion, HusbotError
from .lexical import LexicalIndex
from .pilots import pilots_in
from .store import Passage
from .textnorm import detect_language, fold, tidy

MAX_QUESTION_CHARS = 2000
RRF_K = 60
# why these weights: English questions over Norwegian text are served by the dense side; word overlap misleads
# them (stack-facts: fusion halved English quality). Norwegian questions lean slightly on the lexical side.
WEIGHTS = {"nb": (1.3, 1.0), "en": (0.3, 1.0)}
CANDIDATES = 100
# why windows: small passages match precisely, but evidence often runs over a passage boundary;
# returning the best neighbour too ("small-to-big") raised dev Hit@5 from 0.93 to 0.98 (husbot eval, stop 10).
WINDOW_WORDS = 200
# why a context channel: each passage's vector plus 0.3 x its same-section neighbours' vectors, so a passage
# that continues a relevant paragraph is found too; as a third fused channel it raised dev MRR@10 0.775 -> 0.80.
CONTEXT_MIX, CONTEXT_WEIGHT = 0.3, 1.0
# why: a question naming a pilot is usually about that pilot's passages, not a chapter on all of them
PILOT_BOOST = 0.15


class QuestionTooLong(HusbotError):
    pass


@dataclass
class Filters:
    pilot: str | None = None
    kind: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    # None: everything; otherwise programme-wide passages plus private ones of these pilots
    visible_pilots: set[str] | None = None

    def allows(self, p: Passage) -> bool:
        if self.pilot and self.pilot.lower() not in {x.lower() for x in p.pilots}:
            return False
        if self.kind and p.kind != self.kind:
            return False
        if self.date_from and (p.date or "") < self.date_from:
            return False
        if self.date_to and (p.date or "")[: len(self.date_to)] > self.date_to:
            return False
        if self.visible_pilots is not None and p.visibility != "programme":
            owners = set(p.visibility.partition(":")[2].split(",")) - {""}
            if not owners & self.visible_pilots:
                return False
        return True

    @property
    def active(self) -> bool:
        return any([self.pilot, self.kind, self.date_from, self.date_to, self.visible_pilots is not None])


@dataclass
class Hit:
    passage: Passage
    score: float
    rank: int = 0
    lexical_rank: int | None = None
    dense_rank: int | None = None
    dense_sim: float = 0.0
    lexical_score: float = 0.0
    # the passage with the neighbour that best completes it (same section, at most WINDOW_WORDS words)
    window: list[Passage] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The original text shown and cited: the passage, with its best neighbour when it fits."""
        return "\n\n".join(p.text for p in (self.window or [self.passage]))

    @property
    def display(self) -> str:
        """The same window as readable text (re-joined lines, OCR repaired) for answer sentences."""
        return "\n".join(p.display or tidy(p.text) for p in (self.window or [self.passage]))


def clean_question(question: str) -> str:
    q = " ".join((question or "").split())
    if not fold(q):
        raise EmptyQuestion("the question is empty")
    if len(q) > MAX_QUESTION_CHARS:
        raise QuestionTooLong(f"the question is {len(q)} characters long; ask in at most {MAX_QUESTION_CHARS}")
    return q


class Retriever:
    def __init__(self, passages: list[Passage], lexical: LexicalIndex, dense, embedder,
                 vectors: np.ndarray | None = None):
        self.passages = passages
        self.pos = {p.id: i for i, p in enumerate(passages)}
        self.lexical = lexical
        self.dense = dense
        self.embedder = embedder
        self.context = self._context(vectors) if vectors is not None and len(vectors) == len(passages) else None

    def _context(self, v: np.ndarray) -> np.ndarray:
        """Vectors of passages in reading context: own vector plus CONTEXT_MIX x same-section neighbours."""
        c = v.astype(np.float32, copy=True)
        for i in range(len(self.passages)):
            for j in (i - 1, i + 1):
                if self._same_section(i, j):
                    c[i] += CONTEXT_MIX * v[j]
        c /= np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-9)
        return c

    def _same_section(self, i: int, j: int) -> bool:
        if not 0 <= j < len(self.passages):
            return False
        p, q = self.passages[i], self.passages[j]
        return (q.doc_id, q.section_no, q.section_title) == (p.doc_id, p.section_no, p.section_title)

    def search(self, question: str, k: int = 5, filters: Filters | None = None, lang: str | None = None,
               query_vector: np.ndarray | None = None, penalties: dict[int, float] | None = None) -> list[Hit]:
        """Best passages first; `penalties` (passage id -> multiplier) demotes passages users voted down."""
        q = clean_question(question)
        lang = lang or detect_language(q)
        filters = filters or Filters()
        n = len(self.passages)
        if n == 0:
            return []
        allowed = None
        if filters.active:
            allowed = np.fromiter((filters.allows(p) for p in self.passages), bool, n)
            if not allowed.any():
                return []
        pool = CANDIDATES if allowed is None else min(n, CANDIDATES * max(1, int(n / max(1, allowed.sum()))))
        # lexical channel
        lex = self.lexical.scores(q)
        if allowed is not None:
            lex = np.where(allowed, lex, -1.0)
        lex_order = np.argsort(-lex, kind="stable")[:pool]
        lex_order = [i for i in lex_order if lex[i] > 0]
        # dense channel
        qv = query_vector if query_vector is not None else self.embedder.embed_query(q)
        ids, sims = vec.search(self.dense, qv, min(n, pool))
        dense_order, dense_sim = [], {}
        for pid, s in zip(ids, sims):
            i = self.pos.get(int(pid))
            if i is None or (allowed is not None and not allowed[i]):
                continue
            dense_order.append(i)
            dense_sim[i] = float(s)
        ctx_order = []
        if self.context is not None:
            cs = self.context @ np.asarray(qv, dtype=np.float32)
            if allowed is not None:
                cs = np.where(allowed, cs, -2.0)
            top = np.argpartition(-cs, min(pool, n) - 1)[:pool] if n > pool else np.arange(n)
            ctx_order = [int(i) for i in top[np.argsort(-cs[top], kind="stable")] if cs[i] > -2.0]
        w_lex, w_dense = WEIGHTS.get(lang, WEIGHTS["nb"])
        fused: dict[int, float] = {}
        lrank = {i: r for r, i in enumerate(lex_order, 1)}
        drank = {i: r for r, i in enumerate(dense_order, 1)}
        for i, r in lrank.items():
            fused[i] = fused.get(i, 0.0) + w_lex / (RRF_K + r)
        for i, r in drank.items():
            fused[i] = fused.get(i, 0.0) + w_dense / (RRF_K + r)
        for r, i in enumerate(ctx_order, 1):
            fused[i] = fused.get(i, 0.0) + CONTEXT_WEIGHT / (RRF_K + r)
        penalties = penalties or {}
        for i in list(fused):
            pen = penalties.get(self.passages[i].id)
            if pen:
                fused[i] *= pen
        named = set(pilots_in(q))
        if named:
            for i in fused:
                tags = set(self.passages[i].pilots)
                if tags & named:
                    fused[i] *= 1 + PILOT_BOOST
                elif tags:
                    fused[i] *= 1 - PILOT_BOOST
        order = sorted(fused, key=lambda i: -fused[i])
        hits: list[Hit] = []
        taken: set[int] = set()
        for i in order:
            p = self.passages[i]
            twin = p.dup_of
            if twin is not None and twin in taken or p.id in taken:
                continue
            window = self._window(i, fused, allowed)
            taken.update(w.id for w in window)
            if twin is not None:
                taken.add(twin)
            hits.append(Hit(p, fused[i], len(hits) + 1, lrank.get(i), drank.get(i),
                            dense_sim.get(i, 0.0), float(lex[i]) if lex[i] > 0 else 0.0, window))
            if len(hits) >= k:
                break
        return hits

    def _window(self, i: int, fused: dict[int, float], allowed) -> list[Passage]:
        p = self.passages[i]
        size = len(p.text.split())
        best = None
        for j in (i - 1, i + 1):
            if not self._same_section(i, j) or (allowed is not None and not allowed[j]):
                continue
            q = self.passages[j]
            if size + len(q.text.split()) > WINDOW_WORDS:
                continue
            if best is None or fused.get(j, 0.0) > fused.get(best, 0.0):
                best = j
        return [self.passages[x] for x in sorted([i] + ([best] if best is not None else []))]

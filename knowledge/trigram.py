"""Lexical ranking inside PostgreSQL (HUSBOT_LEXICAL=pg_trgm): BM25 over the words of the passages, each question word
widened with pg_trgm to the corpus words that resemble it (inflections, OCR damage, compounds).

Why words and a lexicon, not pg_trgm on whole passages: `word_similarity(word, passage)` must cut the whole passage
into trigrams for every row it looks at, ~0.17 ms per word and passage here, so a question took 0.5 s on the 335
sample passages (and grows with the store), and ranked worse (dev MRR@10 0.738 against 0.790 for the in-process
BM25). pg_trgm is fast on short strings: one GIN trigram index on the distinct words (`lexical_terms`) finds, for each
question word, the corpus words that are similar to it, contain it or are contained in it; an inverted list
(`lexical_postings`: word, passage, count) then gives BM25 over those words with standard k1 and b.

The two tables exist only on PostgreSQL and are made at first use, with the extension (SQLite never sees them). They
are derived from `passages.shadow`: passages are added to them when a server loads its indexes for a new generation
(`sync`), and leave them with their passage (foreign key, on delete cascade), so every server ranks from one copy.
"""
from __future__ import annotations

import numpy as np

from .errors import HusbotError
from .lexical import B, K1
from .textnorm import EN_STOP, NB_STOP, fold

# How a question word is widened to corpus words, on pg_trgm's scales (0..1):
SIMILAR = 0.5      # similarity(word, term): the same word inflected or OCR-damaged (kommunene ~ kommunen, rekruttermg)
CONTAINS = 0.6     # word_similarity(word, term): the word inside a longer one (hub in innovasjonshuben)
PART = 0.8         # word_similarity(term, word): a corpus word inside the question's compound (total in totalbudsjettet)
PART_MIN = 4       # … of at least this many letters
# the GIN index looks up candidates by plain similarity at this level (or by CONTAINS); the rules above then pick
PREFILTER = 0.2
STOP = {fold(w) for w in NB_STOP | EN_STOP}


class LexicalUnavailable(HusbotError):
    """The pg_trgm ranker cannot run here: SQLite, or a PostgreSQL database without the extension."""


def words(text: str) -> list[str]:
    """The folded content words of a question, once each (all its words when it has only stop words)."""
    folded = fold(text).split()
    kept = [w for w in folded if w not in STOP]
    return list(dict.fromkeys(kept or folded))


# each question word (q.w) with the corpus words (term) it stands for and how strongly (weight 0..1)
# why materialized: inlined, PostgreSQL computed the similarities again for every posting row (0.35 s at 10^4 passages)
_EXPANDED = f"""
expanded as materialized (
  select w, term, greatest(case when s >= {SIMILAR} then s else 0 end,
                           case when ws >= {CONTAINS} then ws else 0 end,
                           case when wp >= {PART} and length(term) >= {PART_MIN} then wp else 0 end) as weight
  from (select q.w, t.term, similarity(q.w, t.term) as s, word_similarity(q.w, t.term) as ws,
               word_similarity(t.term, q.w) as wp
        from q join lexical_terms t on t.term % q.w or t.term %> q.w) m),
matched as (select e.w, p.passage_id, sum(e.weight * p.tf) as tf, max(p.dl) as dl
            from expanded e join lexical_postings p on p.term = e.term where e.weight > 0
            group by e.w, p.passage_id),
df as (select w, count(*) as df from matched group by w)"""

# rows (passage id, BM25 score, null), then (null, document frequency, word) for the words that matched anything
_SCORES = f"""
with q(w) as (select distinct unnest(?::text[])),{_EXPANDED}
select m.passage_id, sum(ln(1 + (?::float8 - df.df + 0.5) / (df.df + 0.5))
                         * m.tf * {K1 + 1} / (m.tf + {K1} * ({1 - B} + {B} * m.dl / ?::float8)))::float8, null::text
from matched m join df using (w) group by m.passage_id
union all select null, df::float8, w from df"""

_DF = f"""
with q(w) as (select distinct unnest(?::text[])),{_EXPANDED}
select w, df from df"""

# per question word: how well the text holds it, by the same rules, against the text's words
_PRESENT = f"""
with q(w) as (select distinct unnest(?::text[])),
t(term) as (select distinct unnest(?::text[]))
select q.w, max(greatest(case when similarity(q.w, t.term) >= {SIMILAR} then similarity(q.w, t.term) else 0 end,
                         case when word_similarity(q.w, t.term) >= {CONTAINS} then word_similarity(q.w, t.term)
                              else 0 end,
                         case when length(t.term) >= {PART_MIN} and word_similarity(t.term, q.w) >= {PART}
                              then word_similarity(t.term, q.w) else 0 end))
from q cross join t group by q.w"""
DF_CACHE = 50_000    # words whose document frequency a server remembers until its next index load

_SYNC = r"""
with todo as (
  select p.id, w from passages p cross join lateral regexp_split_to_table(coalesce(p.shadow, ''), '\s+') as w
  where w <> '' and not exists (select 1 from lexical_postings l where l.passage_id = p.id)),
counted as (select id, w, count(*)::integer as tf from todo group by id, w),
sized as (select id, w, tf, (sum(tf) over (partition by id))::integer as dl from counted),
terms as (insert into lexical_terms (term) select distinct w from sized on conflict do nothing)
insert into lexical_postings (term, passage_id, tf, dl) select w, id, tf, dl from sized"""


def ensure(store) -> None:
    """The extension, the lexicon with its trigram index and the postings, made once (serialised between servers)."""
    import psycopg

    db = store.db
    with db.atomic():
        db.execute("select pg_advisory_xact_lock(hashtext('husbot:lexical'))")
        if not db.execute("select exists(select 1 from pg_extension where extname = 'pg_trgm')").fetchone()[0]:
            try:
                db.execute("create extension if not exists pg_trgm")
            except psycopg.Error as e:
                reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
                raise LexicalUnavailable(
                    f"HUSBOT_LEXICAL=pg_trgm needs the pg_trgm extension in {store.path}, and husbot may not create it "
                    f"({reason}). Ask the database's owner or a superuser to run `create extension pg_trgm;` in that "
                    "database once, or set HUSBOT_LEXICAL=bm25.") from None
        db.execute("create table if not exists lexical_terms (term text primary key)")
        # why fastupdate off: words added later would wait in the index's pending list, which every lookup reads
        # through (a freshly filled lexicon made each question 4x slower until a vacuum)
        db.execute("create index if not exists lexical_terms_trgm on lexical_terms using gin (term gin_trgm_ops) "
                   "with (fastupdate = off)")
        db.execute("create table if not exists lexical_postings (term text not null, passage_id bigint not null "
                   "references passages(id) on delete cascade, tf integer not null, dl integer not null, "
                   "primary key (term, passage_id))")
        db.execute("create index if not exists lexical_postings_passage on lexical_postings (passage_id)")


def sync(store) -> int:
    """Add the passages the postings lack (new since the last sync); returns how many postings were written."""
    with store.db.atomic():
        store.db.execute("select pg_advisory_xact_lock(hashtext('husbot:lexical'))")
        written = store.db.execute(_SYNC).rowcount
        if written:
            # why now, not autovacuum's turn: the ranking query is planned from these statistics
            store.db.execute("analyze lexical_terms")
            store.db.execute("analyze lexical_postings")
    return written


class TrigramIndex:
    """Ranks passages inside PostgreSQL; offers what `Retriever` and answer composition use of `LexicalIndex`
    (`scores`, `coverage`) for the passages this server loaded, in their order."""

    def __init__(self, db, passages: list):
        self.db = db
        self.pos = {p.id: i for i, p in enumerate(passages)}
        self.n = len(passages)
        words_total = sum(p.shadow.count(" ") + 1 for p in passages if p.shadow)
        self.avgdl = words_total / self.n if self.n and words_total else 1.0
        # why: answer composition asks `coverage` right after `scores` for the same words; counting their passages
        # again was most of its cost (35 ms at 10^4 passages)
        self._df: dict[str, int] = {}

    @classmethod
    def open(cls, store, passages: list) -> "TrigramIndex":
        if getattr(store, "backend", "sqlite") != "postgresql":
            raise LexicalUnavailable(refusal(store))
        ensure(store)
        sync(store)
        return cls(store.db, passages)

    def _rows(self, sql: str, params: list) -> list:
        with self.db.atomic():
            # why local settings: the `%` and `%>` operators read their thresholds from the session
            self.db.execute("select set_config('pg_trgm.similarity_threshold', ?, true), "
                            "set_config('pg_trgm.word_similarity_threshold', ?, true)", [str(PREFILTER), str(CONTAINS)])
            return self.db.execute(sql, params).fetchall()

    def scores(self, question: str) -> np.ndarray:
        out = np.zeros(self.n, np.float32)
        ws = words(question)
        if not self.n or not ws:
            return out
        found = dict.fromkeys(ws, 0)
        for pid, score, word in self._rows(_SCORES, [ws, self.n, self.avgdl]):
            if pid is None:
                found[word] = int(score)
                continue
            i = self.pos.get(pid)
            if i is not None:    # a passage written since this server loaded its indexes waits for the next load
                out[i] = score
        self._remember(found)
        return out

    def _remember(self, df: dict[str, int]) -> None:
        if len(self._df) + len(df) > DF_CACHE:
            self._df.clear()
        self._df.update(df)

    def coverage(self, question_content: str, text: str) -> float:
        """Share of the question's words (idf-weighted) that `text` holds, allowing the same variants as the
        ranking: 0..1."""
        ws = words(question_content)
        terms = list(dict.fromkeys(fold(text).split()))
        if not ws or not terms:
            return 0.0
        unknown = [w for w in ws if w not in self._df]
        if unknown:
            self._remember({**dict.fromkeys(unknown, 0), **{w: int(df) for w, df in self._rows(_DF, [unknown])}})
        present = {w: float(weight) for w, weight in self._rows(_PRESENT, [ws, terms])}
        total = have = 0.0
        for w in ws:
            df = self._df.get(w, 0)
            idf = float(np.log1p((self.n - df + 0.5) / (df + 0.5))) if self.n else 1.0
            total += idf
            have += idf * present.get(w, 0.0)
        return have / total if total > 0 else 0.0


def refusal(store) -> str:
    return (f"HUSBOT_LEXICAL=pg_trgm ranks passages inside PostgreSQL, but this store is SQLite ({store.path}). "
            "Set HUSBOT_DATABASE_URL=postgresql://… or HUSBOT_LEXICAL=bm25 (the default).")

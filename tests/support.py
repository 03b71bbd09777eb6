"""Real helper objects for the tests: fake embedders and small source documents written into a temporary folder."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import faiss
import numpy as np

from knowledge import Knowledge
from knowledge.embedder import HashingEmbedder

REPO = Path(__file__).resolve().parents[1]
SAMPLE_CORPUS = REPO / "examples" / "statens-hus"
DEV_SET = REPO / "eval" / "qa_dev.jsonl"
SAMPLE_DOCUMENTS = sorted(p.name for p in SAMPLE_CORPUS.iterdir() if p.suffix == ".txt")


class CountingEmbedder(HashingEmbedder):
    """The hashing embedder, recording what it embeds; optionally blows up on its n-th batch of passages."""

    def __init__(self, fail_on_call: int | None = None, error: BaseException | None = None):
        super().__init__()
        self.passage_calls = 0
        self.passages_embedded = 0
        self.queries: list[str] = []
        self.fail_on_call = fail_on_call
        self.error = error or RuntimeError("the embedding model crashed")

    def embed_passages(self, texts):
        self.passage_calls += 1
        if self.fail_on_call is not None and self.passage_calls == self.fail_on_call:
            raise self.error
        self.passages_embedded += len(texts)
        return super().embed_passages(texts)

    def embed_query(self, text):
        self.queries.append(text)
        return super().embed_query(text)


# Three short reports, one pilot each: enough words for one or two passages apiece.
STAD_REPORT = """Statens hus på Stad – erfaringsnotat

Piloten på Stad samlet statlige arbeidsplasser i Nordfjordeid. Kommunen etablerte en distriktshub der ansatte
fra flere direktorater deler kontor, kantine og møterom. Erfaringene viser at det felles kontoret gjorde det
lettere å rekruttere folk med høyere utdanning til regionen, fordi de fikk et fagmiljø å høre til.
Kommunen tok ansvar for husleieavtalen og for en koordinator som holdt kontakten med etatene.
"""

ORKLAND_REPORT = """Statens hus i Orkland – statusrapport

Orkland kommune bygde opp Innovasjonshub Orkland på Orkanger. Huben tilbyr arbeidsplasser for
statsansatte som bor i regionen, og kobler dem med lokalt næringsliv. Lakseregionen og Thams Innovasjon
arrangerte frokostmøter hver måned, og flere små bedrifter fikk råd om søknader til virkemiddelapparatet.
Utfordringen har vært å få de største etatene til å forplikte seg til faste plasser i huben.
"""

NARVIK_REPORT = """Narvik pilotkommunen i nord – resultatnotat

I Narvik flyttet sjøfartsdirektoratet, skatteetaten og statsforvalteren inn i Sentrumsgården. Prosjektet
Mørketidsmagi samlet de ansatte til felles lunsj og faglige samlinger gjennom vinteren. Narvikgården ble
brukt til møter med næringslivet i Ofoten. Resultatrapporten anbefaler at ordningen med en felles
vertskapsfunksjon videreføres etter pilotperioden.
"""

SHARED_PARAGRAPH = ("Alle pilotene rapporterte at en fast koordinator i kommunen var den viktigste enkeltfaktoren for å "
                    "lykkes. Koordinatoren holdt oversikt over ledige kontorplasser, ønsket nye statsansatte velkommen, "
                    "fulgte opp husleieavtaler og sørget for at etatene møttes jevnlig til faglige samlinger. Uten en "
                    "slik rolle stoppet samarbeidet opp så snart de første entusiastene sluttet eller fikk nye "
                    "oppgaver. Departementet bør derfor sette av midler til koordinatorrollen i minst tre år.")


# Bodies long enough (~70 words) to make one passage each, with one unusual word apiece to search for.
INTRO = ("Pilotkommunen etablerte et felles kontorfellesskap for statlige arbeidsplasser i sentrum. Kommunen leide "
         "lokalene, statsforvalteren koordinerte etatene, og de første ansatte flyttet inn høsten 2021. Målet var å "
         "gi statsansatte i distriktet et fagmiljø, slik at flere kunne bo i regionen og likevel jobbe for staten. "
         "Styringsgruppen møttes fire ganger i året og fulgte opp framdriften.")
RESULTS = ("Rekrutteringen av fagfolk økte etter at sjøfartsdirektoratet flyttet inn i bygget. Tolv nye stillinger ble "
           "lyst ut lokalt, og søkertallet var dobbelt så høyt som før piloten startet. Ansatte trakk fram felles lunsj "
           "og faglige frokostmøter som det viktigste. Flere etater delte nå møterom, resepsjon og IT-støtte, noe som "
           "ga lavere kostnader for hver enkelt etat.")
ADVICE = ("Vi anbefaler at departementet viderefører ordningen med lokale koordinatorer i minst fem år. Uten en fast "
          "koordinator stopper samarbeidet opp når ildsjelene slutter. Kommunene bør også få midler til vertskap, "
          "slik at nye statsansatte blir tatt godt imot. Evalueringen viser at piloter med tydelig eierskap i "
          "kommuneledelsen kom lengst, mens de andre brukte lang tid på å avklare roller.")


def write_corpus(folder: Path) -> Path:
    """Three one-pilot reports as .txt files; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "stad-erfaringsnotat.txt").write_text(STAD_REPORT, encoding="utf-8")
    (folder / "orkland-statusrapport.txt").write_text(ORKLAND_REPORT, encoding="utf-8")
    (folder / "narvik-resultatnotat.txt").write_text(NARVIK_REPORT, encoding="utf-8")
    return folder


def write_pdf(path: Path, pages: list[tuple[str, str]]) -> Path:
    """A PDF with one (heading, body) per page, laid out as real text the way a word processor exports it."""
    import pymupdf

    pdf = pymupdf.open()
    for heading, body in pages:
        page = pdf.new_page()
        page.insert_text((72, 72), heading, fontsize=14)
        page.insert_textbox(pymupdf.Rect(72, 100, 520, 760), body, fontsize=11)
    pdf.save(str(path))
    pdf.close()
    return path


def write_docx(path: Path, parts: list[tuple[str, str]], table: list[tuple[str, ...]] | None = None,
               table_after: int | None = None) -> Path:
    """A DOCX of (heading, paragraph) parts in Word's Heading 1 style; `table` goes after part `table_after`."""
    import docx

    d = docx.Document()
    for n, (heading, body) in enumerate(parts):
        d.add_heading(heading, level=1)
        d.add_paragraph(body)
        if table and n == table_after:
            t = d.add_table(rows=len(table), cols=len(table[0]))
            for r, row in enumerate(table):
                for c, cell in enumerate(row):
                    t.cell(r, c).text = cell
    d.save(str(path))
    return path


def write_manifest(folder: Path, entries: dict) -> None:
    (folder / "manifest.json").write_text(json.dumps(entries, ensure_ascii=False, indent=1), encoding="utf-8")


def passages_of(k: Knowledge, name: str):
    return [p for p in k.store.passages() if p.document == name]


def assert_store_consistent(k: Knowledge) -> None:
    """The database agrees with itself, and the search indexes on disk (if present and current) agree with it."""
    if k.store.backend == "sqlite":
        db = sqlite3.connect(str(k.settings.db_path))
        assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
        assert db.execute("pragma foreign_key_check").fetchall() == []
        db.close()
    db = k.store.db   # PostgreSQL checks its own pages and foreign keys; the cross-table facts are asked on both
    n_passages = db.execute("select count(*) from passages").fetchone()[0]
    assert db.execute("select count(*) from embeddings").fetchone()[0] == n_passages
    assert db.execute("select count(*) from embeddings where passage_id not in (select id from passages)"
                      ).fetchone()[0] == 0
    assert db.execute("select coalesce(sum(n_passages), 0) from documents").fetchone()[0] == n_passages
    assert db.execute("select count(*) from passages where doc_id not in (select id from documents)"
                      ).fetchone()[0] == 0
    assert db.execute("select count(*) from passages where dup_of is not null and dup_of not in "
                      "(select id from passages)").fetchone()[0] == 0
    # opening the retriever brings the derived indexes up to date; they must then match SQLite exactly
    k.retriever
    state = json.loads((k.home / "index-state.json").read_text())
    assert {key: state.get(key) for key in ("generation", "passages")} == {
        "generation": k.store.generation(), "passages": n_passages}
    assert faiss.read_index(str(k.home / "passages.faiss")).ntotal == n_passages
    ids, vectors = k.store.vectors()
    assert sorted(ids.tolist()) == sorted(p.id for p in k.store.passages())
    assert np.isfinite(vectors).all()

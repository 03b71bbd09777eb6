"""Lexical search inside PostgreSQL (HUSBOT_LEXICAL=pg_trgm, issue 9): exact phrases and OCR-damaged spellings are
found by the database-side ranker; SQLite and a database without the extension are refused with a message that says
what to do. On the session's throwaway PostgreSQL server (skipped with its reason when there is none)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from click.testing import CliRunner
from support import CountingEmbedder, write_corpus

from adapters.cli.main import cli
from indexer import index_paths
from knowledge import Knowledge, Settings
from knowledge.trigram import LexicalUnavailable, TrigramIndex

# OCR read «e» as «c» in the agencies' names: Kystverket, Husbanken
LYNGDAL_NOTE = """Lyngdal – midtveisnotat

I Lyngdal flyttet Kystvcrket og Husbankcn inn i det nye rådhuset sommeren 2022. Kommunen stilte med kontorer,
møterom og en vertskapsrolle, og etatene delte resepsjon og kantine. De ansatte sier at det er lettere å rekruttere
når man kan tilby et fagmiljø i nærheten av der folk bor. Styringsgruppen vil nå se på om flere etater kan flytte inn
når leieavtalen skal fornyes.
"""


def _top_document(k: Knowledge, question: str) -> str:
    """The document of the passage the lexical ranker alone puts first."""
    r = k.retriever
    scores = r.lexical.scores(question)
    assert scores.max() > 0, f"nothing found lexically for {question!r}"
    return r.passages[int(np.argmax(scores))].document


@pytest.fixture
def trgm(settings, tmp_path):
    """The three short reports and an OCR-damaged note indexed on PostgreSQL, ranked lexically by pg_trgm."""
    folder = write_corpus(tmp_path / "corpus")
    (folder / "lyngdal-midtveisnotat.txt").write_text(LYNGDAL_NOTE, encoding="utf-8")
    k = Knowledge(dataclasses.replace(settings, lexical="pg_trgm"), embedder=CountingEmbedder())
    report = index_paths(k, [folder])
    assert report.errors == [] and len(report.indexed) == 4
    yield k
    k.close()


@pytest.mark.backends("postgresql")
def test_pg_trgm_finds_the_passage_with_an_exact_phrase(trgm):
    assert isinstance(trgm.retriever.lexical, TrigramIndex)
    assert not (trgm.home / "lexical.npz").exists()     # the lexical side lives in the database
    assert _top_document(trgm, "felles vertskapsfunksjon") == "narvik-resultatnotat.txt"
    assert _top_document(trgm, "Hva er Mørketidsmagi?") == "narvik-resultatnotat.txt"
    assert trgm.search("Mørketidsmagi")[0].passage.document == "narvik-resultatnotat.txt"
    # and `husbot check` takes the missing lexical.npz for what it is, not for indexes still to build
    from knowledge.check import check
    report = check(trgm.home, trgm.settings.database_url)
    assert report.ok and report.warnings == [], (report.problems, report.warnings)


@pytest.mark.backends("postgresql")
def test_pg_trgm_finds_an_ocr_damaged_spelling(trgm):
    assert _top_document(trgm, "Når flyttet Kystverket og Husbanken inn?") == "lyngdal-midtveisnotat.txt"
    lexical = trgm.retriever.lexical
    note = next(p for p in trgm.retriever.passages if p.document == "lyngdal-midtveisnotat.txt")
    assert lexical.coverage("Kystverket Husbanken", note.text) > 0.5
    assert lexical.coverage("Kystverket Husbanken", "Orkland kommune bygde opp Innovasjonshub Orkland.") == 0.0


@pytest.mark.backends("postgresql")
def test_pg_trgm_follows_passages_written_and_removed_through_another_server(trgm, settings, tmp_path):
    other = Knowledge(dataclasses.replace(settings, home=tmp_path / "other-home", lexical="pg_trgm",
                                          refresh_seconds=0), embedder=CountingEmbedder())
    try:
        assert _top_document(other, "Kystverket") == "lyngdal-midtveisnotat.txt"
        trgm.store.delete_document(next(d.path for d in trgm.store.documents()
                                        if d.name == "lyngdal-midtveisnotat.txt"))
        assert other.retriever.lexical.scores("Kystverket").max() == 0
        assert trgm.store.db.execute("select count(*) from lexical_postings where passage_id not in "
                                     "(select id from passages)").fetchone()[0] == 0
    finally:
        other.close()


def test_pg_trgm_on_sqlite_is_refused_with_what_to_do(tmp_path):
    settings = Settings.load(environ={}, home=str(tmp_path / "home"), lexical="pg_trgm")
    with pytest.raises(LexicalUnavailable) as e:
        Knowledge(settings, embedder=CountingEmbedder())
    message = str(e.value)
    assert "HUSBOT_LEXICAL=pg_trgm ranks passages inside PostgreSQL, but this store is SQLite" in message
    assert "HUSBOT_DATABASE_URL=postgresql://" in message and "HUSBOT_LEXICAL=bm25" in message
    # the CLI says the same in one line, without a traceback
    result = CliRunner().invoke(cli, ["--home", str(tmp_path / "home"), "search", "Mørketidsmagi"],
                                env={"HUSBOT_LEXICAL": "pg_trgm", "HUSBOT_EMBEDDER": "hashing"})
    assert result.exit_code == 1 and "HUSBOT_LEXICAL=bm25" in result.output and "Traceback" not in result.output


def test_an_unknown_lexical_ranker_is_refused(tmp_path):
    with pytest.raises(LexicalUnavailable, match="HUSBOT_LEXICAL must be bm25 or pg_trgm, not 'bm52'"):
        Knowledge(Settings.load(environ={}, home=str(tmp_path / "home"), lexical="bm52"), embedder=CountingEmbedder())


@pytest.mark.backends("postgresql")
def test_a_database_without_the_extension_and_no_right_to_create_it_is_refused(pg_server, database_url, tmp_path):
    import psycopg

    role = f"weak_{tmp_path.name[-12:].replace('-', '_')}".lower()
    dbname = database_url.rsplit("/", 1)[1]
    with psycopg.connect(pg_server.url(dbname), autocommit=True) as conn:
        conn.execute(f'create role "{role}" login')
        conn.execute(f'grant connect on database "{dbname}" to "{role}"')
        conn.execute(f'grant usage, create on schema public to "{role}"')
        conn.execute(f'grant all on all tables in schema public to "{role}"')
        conn.execute(f'grant all on all sequences in schema public to "{role}"')
    try:
        url = pg_server.url(dbname).replace(f"//{pg_server.user}@", f"//{role}@")
        settings = Settings.load(environ={}, home=str(tmp_path / "home"), database_url=url, lexical="pg_trgm")
        k = Knowledge(settings, embedder=CountingEmbedder())
        try:
            with pytest.raises(LexicalUnavailable) as e:
                k.retriever
        finally:
            k.close()
        assert "needs the pg_trgm extension" in str(e.value) and "create extension pg_trgm;" in str(e.value)
        assert "HUSBOT_LEXICAL=bm25" in str(e.value) and "permission denied" in str(e.value)
    finally:
        with psycopg.connect(pg_server.url(dbname), autocommit=True) as conn:
            conn.execute(f'drop owned by "{role}"')
        with psycopg.connect(pg_server.url(), autocommit=True) as conn:
            conn.execute(f'drop role "{role}"')

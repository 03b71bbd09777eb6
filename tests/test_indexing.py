"""Indexing: each format is read into cited passages, metadata and pilots are recorded, re-runs are incremental."""
from __future__ import annotations

import pytest

from indexer import index_paths
from knowledge import Filters
from support import (ADVICE, INTRO, NARVIK_REPORT, ORKLAND_REPORT, RESULTS, SHARED_PARAGRAPH, STAD_REPORT,
                     assert_store_consistent, passages_of, write_docx, write_manifest, write_pdf)

# why both: the store suite runs on SQLite and on PostgreSQL alike (issue 9)
pytestmark = pytest.mark.backends("sqlite", "postgresql")


def _top(k, question, n=3):
    return k.search(question, n)


# -- readers ---------------------------------------------------------------------------------------------------

def test_pdf_passages_are_cited_with_their_page_and_section(knowledge, tmp_path):
    pdf = write_pdf(tmp_path / "rapport.pdf", [("1 Innledning", INTRO), ("2 Resultater", RESULTS),
                                               ("3 Anbefalinger", ADVICE)])
    report = index_paths(knowledge, [pdf])
    assert report.indexed == ["rapport.pdf"] and report.errors == []

    hit = _top(knowledge, "sjøfartsdirektoratet tolv nye stillinger søkertallet", 1)[0]
    assert hit.passage.document == "rapport.pdf"
    assert hit.passage.page == 2
    assert (hit.passage.section_no, hit.passage.section_title) == ("2", "Resultater")
    pages = {p.section_no: p.page for p in passages_of(knowledge, "rapport.pdf")}
    assert pages == {"1": 1, "2": 2, "3": 3}


def test_text_file_pages_are_split_at_form_feeds(knowledge, tmp_path):
    txt = tmp_path / "eksport.txt"
    txt.write_text(f"1 Innledning\n{INTRO}\n\f2 Resultater\n{RESULTS}\n\f3 Anbefalinger\n{ADVICE}\n", encoding="utf-8")
    index_paths(knowledge, [txt])

    assert {p.section_title: p.page for p in passages_of(knowledge, "eksport.txt")} == {
        "Innledning": 1, "Resultater": 2, "Anbefalinger": 3}


def test_markdown_headings_become_sections(knowledge, tmp_path):
    md = tmp_path / "veileder.md"
    md.write_text(f"# Veileder for samlokalisering\n\n## Oppstart\n\n{INTRO}\n\n## Rekruttering\n\n{RESULTS}\n\n"
                  f"## Råd til nye piloter\n\n{ADVICE}\n", encoding="utf-8")
    index_paths(knowledge, [md])

    hit = _top(knowledge, "sjøfartsdirektoratet tolv nye stillinger søkertallet", 1)[0]
    assert hit.passage.section_title == "Rekruttering"
    assert [p.section_title for p in passages_of(knowledge, "veileder.md")] == [
        "Oppstart", "Rekruttering", "Råd til nye piloter"]
    assert knowledge.store.documents()[0].title == "Veileder for samlokalisering"


def test_docx_headings_become_sections(knowledge, tmp_path):
    doc = write_docx(tmp_path / "notat.docx", [("Oppstart", INTRO), ("Rekruttering", RESULTS),
                                               ("Råd til nye piloter", ADVICE)])
    report = index_paths(knowledge, [doc])
    assert report.indexed == ["notat.docx"]

    hit = _top(knowledge, "Vi anbefaler at departementet viderefører ordningen med lokale koordinatorer", 1)[0]
    assert hit.passage.document == "notat.docx"
    assert hit.passage.section_title == "Råd til nye piloter"
    assert [p.section_title for p in passages_of(knowledge, "notat.docx")] == [
        "Oppstart", "Rekruttering", "Råd til nye piloter"]


def test_docx_table_is_searchable_and_cited_under_the_heading_it_sits_in(knowledge, tmp_path):
    budget = [("Post", "Beløp"), ("Husleie kontorfellesskap", "1 250 000"), ("Koordinatorstilling", "840 000")]
    doc = write_docx(tmp_path / "budsjett.docx", [("Budsjett", INTRO), ("Resultater", RESULTS),
                                                  ("Anbefalinger", ADVICE)], table=budget, table_after=0)
    index_paths(knowledge, [doc])

    table = [p for p in passages_of(knowledge, "budsjett.docx") if "Koordinatorstilling" in p.text]
    assert len(table) == 1
    assert "840 000" in table[0].text
    # the table follows the "Budsjett" heading in the document, so that is the section a citation must name
    assert table[0].section_title == "Budsjett"


# -- metadata and tags -------------------------------------------------------------------------------------------

def test_manifest_metadata_is_recorded_on_the_document_and_its_passages(knowledge, tmp_path):
    folder = tmp_path / "rapporter"
    folder.mkdir()
    (folder / "sluttrapport.txt").write_text(f"Sluttrapport\n\n{INTRO}\n\n{RESULTS}\n", encoding="utf-8")
    write_manifest(folder, {"sluttrapport.txt": {
        "title": "Følgeevaluering – sluttrapport", "publisher": "Oxford Research AS", "date": "2025-09-08",
        "kind": "evaluation-report", "pilots": ["Stad", "Lyngdal"], "visibility": "private"}})
    index_paths(knowledge, [folder])

    (doc,) = knowledge.store.documents()
    assert (doc.name, doc.title, doc.publisher, doc.date, doc.kind, doc.pilots, doc.visibility) == (
        "sluttrapport.txt", "Følgeevaluering – sluttrapport", "Oxford Research AS", "2025-09-08", "report",
        ["Stad", "Lyngdal"], "private:Stad,Lyngdal")
    for p in passages_of(knowledge, "sluttrapport.txt"):
        assert (p.date, p.kind, p.visibility, p.title) == ("2025-09-08", "report", "private:Stad,Lyngdal",
                                                           "Følgeevaluering – sluttrapport")


def test_a_private_document_is_found_only_by_the_pilots_that_own_it(knowledge, corpus_dir):
    write_manifest(corpus_dir, {"orkland-statusrapport.txt": {"visibility": "private", "pilots": ["Orkland"]}})
    index_paths(knowledge, [corpus_dir])
    question = "Innovasjonshub Orkland på Orkanger"

    def documents_seen_by(pilots):
        return {h.passage.document for h in knowledge.search(question, 5, Filters(visible_pilots=pilots))}

    assert "orkland-statusrapport.txt" in documents_seen_by({"Orkland"})
    assert "orkland-statusrapport.txt" not in documents_seen_by({"Stad", "Narvik"})
    assert documents_seen_by({"Stad"}) == {"stad-erfaringsnotat.txt", "narvik-resultatnotat.txt"}


def test_without_a_manifest_title_date_and_kind_come_from_the_file(knowledge, tmp_path):
    minutes = tmp_path / "orkland-referat-2024-03.txt"
    minutes.write_text(f"Referat fra styringsgruppemøte\n\n{INTRO}\n", encoding="utf-8")
    index_paths(knowledge, [minutes])

    (doc,) = knowledge.store.documents()
    assert (doc.title, doc.kind, doc.date) == ("Referat fra styringsgruppemøte", "minutes", "2024")


def test_passages_are_tagged_with_the_pilot_they_are_about(small_index):
    tags = {p.document: p.pilots for p in small_index.store.passages()}
    assert tags == {"stad-erfaringsnotat.txt": ["Stad"], "orkland-statusrapport.txt": ["Orkland"],
                    "narvik-resultatnotat.txt": ["Narvik"]}


def test_a_passage_naming_no_place_takes_the_pilot_of_its_section(knowledge, tmp_path):
    md = tmp_path / "oversikt.md"
    md.write_text(f"# Oversikt over pilotene\n\n## Lyngdal\n\n{INTRO}\n\n## Orkland\n\n{RESULTS}\n\n"
                  f"## Felles råd\n\n{ADVICE}\n", encoding="utf-8")
    index_paths(knowledge, [md])

    assert {p.section_title: p.pilots for p in passages_of(knowledge, "oversikt.md")} == {
        "Lyngdal": ["Lyngdal"], "Orkland": ["Orkland"], "Felles råd": []}


def test_pilot_filter_returns_only_that_pilots_passages(small_index):
    hits = small_index.search("statlige arbeidsplasser og kontorfellesskap", 5, Filters(pilot="Orkland"))
    assert hits
    assert {h.passage.document for h in hits} == {"orkland-statusrapport.txt"}


# -- incremental indexing ----------------------------------------------------------------------------------------

def test_reindexing_unchanged_files_skips_them_without_embedding(small_index, corpus_dir, embedder):
    generation, calls = small_index.store.generation(), embedder.passage_calls

    report = index_paths(small_index, [corpus_dir])

    assert report.indexed == [] and report.errors == []
    assert sorted(report.skipped) == ["narvik-resultatnotat.txt", "orkland-statusrapport.txt",
                                      "stad-erfaringsnotat.txt"]
    assert embedder.passage_calls == calls
    assert small_index.store.generation() == generation


def test_a_changed_file_replaces_its_old_passages(small_index, corpus_dir):
    old_ids = {p.id for p in passages_of(small_index, "narvik-resultatnotat.txt")}
    (corpus_dir / "narvik-resultatnotat.txt").write_text(
        NARVIK_REPORT.replace("Sentrumsgården", "Rådhuskvartalet"), encoding="utf-8")

    report = index_paths(small_index, [corpus_dir])

    assert report.indexed == ["narvik-resultatnotat.txt"]
    assert len(report.skipped) == 2
    texts = [p.text for p in passages_of(small_index, "narvik-resultatnotat.txt")]
    assert any("Rådhuskvartalet" in t for t in texts)
    assert not any("Sentrumsgården" in p.text for p in small_index.store.passages())
    assert not old_ids & {p.id for p in small_index.store.passages()}
    assert [d.name for d in small_index.store.documents()].count("narvik-resultatnotat.txt") == 1
    hit = small_index.search("Rådhuskvartalet", 1)[0]
    assert "Rådhuskvartalet" in hit.passage.text
    assert_store_consistent(small_index)


def test_a_changed_file_re_embeds_only_the_passages_whose_text_changed(knowledge, embedder, tmp_path):
    md = tmp_path / "veileder.md"
    sections = f"# Veileder\n\n## Oppstart\n\n{INTRO}\n\n## Rekruttering\n\n{RESULTS}\n\n## Råd\n\n{ADVICE}\n"
    md.write_text(sections, encoding="utf-8")
    index_paths(knowledge, [md])
    assert embedder.passages_embedded == 3

    md.write_text(sections.replace("Tolv nye stillinger", "Femten nye stillinger"), encoding="utf-8")
    report = index_paths(knowledge, [md])

    assert report.indexed == ["veileder.md"]
    assert embedder.passages_embedded == 4
    assert any("Femten nye stillinger" in p.text for p in passages_of(knowledge, "veileder.md"))
    assert_store_consistent(knowledge)


def test_deleted_files_stay_indexed_until_prune_removes_them(small_index, corpus_dir):
    (corpus_dir / "orkland-statusrapport.txt").unlink()

    kept = index_paths(small_index, [corpus_dir])
    assert kept.removed == []
    assert "orkland-statusrapport.txt" in {d.name for d in small_index.store.documents()}

    pruned = index_paths(small_index, [corpus_dir], prune=True)
    assert pruned.removed == ["orkland-statusrapport.txt"]
    assert {d.name for d in small_index.store.documents()} == {"stad-erfaringsnotat.txt", "narvik-resultatnotat.txt"}
    hits = small_index.search("Innovasjonshub Orkland på Orkanger", 5)
    assert "orkland-statusrapport.txt" not in {h.passage.document for h in hits}
    assert_store_consistent(small_index)


def test_near_duplicate_passages_are_marked_so_the_same_text_is_shown_once(knowledge, tmp_path):
    folder = tmp_path / "piloter"
    folder.mkdir()
    for name, report in (("stad", STAD_REPORT), ("narvik", NARVIK_REPORT), ("orkland", ORKLAND_REPORT)):
        title, _, body = report.partition("\n\n")
        shared = f"\n\n## Koordinatorrollen\n\n{SHARED_PARAGRAPH}\n" if name != "orkland" else "\n"
        (folder / f"{name}.md").write_text(f"# {title}\n\n## Om piloten\n\n{body}{shared}", encoding="utf-8")
    index_paths(knowledge, [folder])

    copies = [p for p in knowledge.store.passages() if "enkeltfaktoren" in p.text]
    assert len(copies) == 2
    original, duplicate = sorted(copies, key=lambda p: p.id)
    assert original.dup_of is None and duplicate.dup_of == original.id

    hits = knowledge.search("fast koordinator i kommunen var den viktigste enkeltfaktoren", 5)
    assert len(hits) == 4   # five passages in all, one of them hidden as a duplicate
    assert sum("enkeltfaktoren" in h.passage.text for h in hits) == 1
    assert hits[0].passage.id in (original.id, duplicate.id)


def test_duplicates_stay_marked_after_the_original_is_re_indexed_and_a_document_is_added(knowledge, tmp_path):
    """Duplicate marking looks only at new passages and at twins of removed ones; the result must equal a full pass."""
    folder = tmp_path / "piloter"
    folder.mkdir()
    for name, report in (("stad", STAD_REPORT), ("narvik", NARVIK_REPORT)):
        title, _, body = report.partition("\n\n")
        (folder / f"{name}.md").write_text(f"# {title}\n\n## Om piloten\n\n{body}\n\n## Koordinatorrollen\n\n"
                                           f"{SHARED_PARAGRAPH}\n", encoding="utf-8")
    index_paths(knowledge, [folder])
    # the older copy (Narvik or Stad, whichever was written first) changes: its passages get new ids
    first = min((p for p in knowledge.store.passages() if "enkeltfaktoren" in p.text), key=lambda p: p.id)
    path = folder / first.document
    path.write_text(path.read_text(encoding="utf-8") + "\nEt nytt avsnitt om oppfølging.\n", encoding="utf-8")
    index_paths(knowledge, [folder])
    title, _, body = ORKLAND_REPORT.partition("\n\n")
    (folder / "orkland.md").write_text(f"# {title}\n\n{body}\n\n## Samme tekst\n\n{SHARED_PARAGRAPH}\n",
                                       encoding="utf-8")
    index_paths(knowledge, [folder])

    copies = sorted((p for p in knowledge.store.passages() if "enkeltfaktoren" in p.text), key=lambda p: p.id)
    assert len(copies) == 3
    assert copies[0].dup_of is None
    assert {c.dup_of for c in copies[1:]} <= {copies[0].id, copies[1].id} and None not in {c.dup_of for c in copies[1:]}
    assert knowledge.store.orphaned_duplicates() == []
    hits = knowledge.search("fast koordinator i kommunen var den viktigste enkeltfaktoren", 10)
    assert sum("enkeltfaktoren" in h.passage.text for h in hits) == 1


def test_a_write_of_one_thread_does_not_vanish_with_another_threads_rolled_back_transaction(knowledge):
    """The event loop and worker threads share the store's connection; a write the loop saw succeed must stay, even
    when a worker's transaction open at the same moment is rolled back."""
    import threading
    import time as clock

    store = knowledge.store
    opened, done = threading.Event(), threading.Event()

    def worker():
        try:
            with store.db.atomic():
                store.set_meta("worker", "half")
                opened.set()
                clock.sleep(0.5)
                raise RuntimeError("the worker fails and rolls back")
        except RuntimeError:
            pass
        finally:
            done.set()

    t = threading.Thread(target=worker)
    t.start()
    assert opened.wait(5)
    with store.db.atomic():          # the loop's own write, acknowledged to a user
        store.set_meta("loop", "kept")
    t.join(5)
    assert done.is_set()
    assert store.get_meta("loop") == "kept" and store.get_meta("worker") is None

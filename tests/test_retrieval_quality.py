"""Retrieval and answers over the real sample corpus with the real embedder: quality floors and cited answers."""
from __future__ import annotations

import pytest

from knowledge.textnorm import fold

from knowledge.evaluation import evaluate, load_questions
from support import DEV_SET, SAMPLE_DOCUMENTS

# Floors, not targets: measured 0.93 / 0.73 when written; raise them as retrieval improves.
HIT_AT_5_FLOOR = 0.90
MRR_AT_10_FLOOR = 0.70
# the dev set has only 8 English questions: this floor allows two misses
ENGLISH_HIT_AT_5_FLOOR = 0.75


@pytest.fixture(scope="module")
def dev_report(corpus_home):
    items = load_questions(DEV_SET)

    def search(item):
        # judged on the text a user is shown and cited (`Hit.text`), as `husbot eval` does
        return [{"rank": h.rank, "document": h.passage.document, "text": h.text}
                for h in corpus_home.search(item["question"], 10)]

    return evaluate(items, search, k=10)


def test_dev_set_hit_at_5_stays_above_its_floor(dev_report):
    assert dev_report["metrics"]["hit@5"] >= HIT_AT_5_FLOOR, _misses(dev_report)


def test_dev_set_mrr_at_10_stays_above_its_floor(dev_report):
    assert dev_report["metrics"]["mrr@10"] >= MRR_AT_10_FLOOR, _misses(dev_report)


def test_english_questions_find_norwegian_evidence(dev_report):
    english = dev_report["metrics"]["by_lang"]["en"]
    assert english["n"] > 0
    assert english["hit@5"] >= ENGLISH_HIT_AT_5_FLOOR, _misses(dev_report)


def _misses(report) -> str:
    return "missed: " + "; ".join(f"{r['id']} {r['question']!r} (rank {r['first_hit_rank']})"
                                  for r in report["results"] if not r["first_hit_rank"] or r["first_hit_rank"] > 5)


@pytest.mark.parametrize("question, document", [
    ("Hva er Kaffe med påfyll?", "kdd-utviklingssamling-2023.txt"),
    ("Which state agencies took part in Narvik?", "narvik-resultatrapport-2022.txt"),
])
def test_answer_cites_the_document_that_holds_it_in_the_top_three(corpus_home, question, document):
    answer = corpus_home.ask(question)

    assert answer.found, answer.confidence
    assert document in [c.document for c in answer.citations[:3]]


@pytest.mark.parametrize("question", ["Hva er oppskriften på lapskaus?", "What is the recipe for pancakes?",
                                      "Hvem vant fotball-VM i 1998?"])
def test_a_question_the_sources_cannot_answer_says_so(corpus_home, question):
    answer = corpus_home.ask(question)

    assert answer.found is False
    assert answer.sentences == []
    assert answer.lead.startswith(("Jeg fant ikke noe sikkert svar", "I found no reliable answer"))
    assert answer.citations, "the closest sources are still offered"


def test_answer_sentences_point_at_numbered_citations_with_document_section_and_page(corpus_home):
    answer = corpus_home.ask("Hva er Kaffe med påfyll?")

    assert answer.found and answer.lang == "nb"
    assert [c.number for c in answer.citations] == list(range(1, 6))
    for c in answer.citations:
        assert c.document in SAMPLE_DOCUMENTS
        assert c.section and isinstance(c.page, int) and c.page >= 1
        assert c.snippet and c.snippet.split()[0] in c.text
    assert answer.sentences
    numbers = {c.number for c in answer.citations}
    for sentence, n in answer.sentences:
        assert n in numbers
        # answer sentences are the readable (OCR-repaired) form of the cited original: most words are the same
        words = set(fold(sentence).split())
        cited = set(fold(answer.citations[n - 1].text).split())
        assert len(words & cited) / len(words) >= 0.6, (sentence, answer.citations[n - 1].text)
    assert any("kaffe med" in sentence.lower() for sentence, _ in answer.sentences)
    assert f"[{answer.sentences[0][1]}]" in answer.text


def test_an_english_question_gets_an_english_lead(corpus_home):
    answer = corpus_home.ask("Which state agencies took part in Narvik?")

    assert answer.lang == "en"
    assert answer.lead == "This is what the sources say (quoted in Norwegian):"


def test_search_returns_exactly_k_distinct_passages_best_first(corpus_home):
    hits = corpus_home.search("rekruttering av kompetanse til statlige arbeidsplasser", 10)

    assert [h.rank for h in hits] == list(range(1, 11))
    assert len({h.passage.id for h in hits}) == 10
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)

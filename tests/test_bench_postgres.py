"""`husbot bench --postgres --output FILE` rewrites only the PostgreSQL section of the benchmark document, and a full
`husbot bench --output FILE` keeps that section (issue 9)."""
from __future__ import annotations

from adapters.cli.bench_postgres import keep_section, section_of, splice

DOC = "# husbot benchmarks\n\nfigures\n\n## PostgreSQL\n\nold numbers\n\n## Meeting minutes extraction\n\nminutes\n"


def test_the_postgres_section_replaces_only_itself(tmp_path):
    path = tmp_path / "benchmarks.md"
    path.write_text(DOC, encoding="utf-8")
    text = splice(path, "## PostgreSQL\n\nnew numbers\n")
    assert "new numbers" in text and "old numbers" not in text
    assert text.index("# husbot benchmarks") < text.index("new numbers") < text.index("## Meeting minutes extraction")
    assert text.endswith("minutes\n")


def test_the_postgres_section_is_appended_to_a_document_without_one(tmp_path):
    path = tmp_path / "benchmarks.md"
    path.write_text("# husbot benchmarks\n\nfigures\n", encoding="utf-8")
    assert splice(path, "## PostgreSQL\n\nnumbers\n") == "# husbot benchmarks\n\nfigures\n\n## PostgreSQL\n\nnumbers\n"
    assert splice(tmp_path / "missing.md", "## PostgreSQL\n\nnumbers\n") == "## PostgreSQL\n\nnumbers\n"


def test_a_full_bench_report_keeps_the_postgres_section_it_finds():
    kept = section_of(DOC)
    assert kept == "## PostgreSQL\n\nold numbers\n"
    regenerated = keep_section("# husbot benchmarks\n\nfresh figures\n", kept)
    assert regenerated == "# husbot benchmarks\n\nfresh figures\n\n## PostgreSQL\n\nold numbers\n"
    assert section_of("# husbot benchmarks\n") is None

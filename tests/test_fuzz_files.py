"""Hostile and broken input in files (issue #8): roster CSVs, minutes imports, status answer files, the file readers.

Each target gets what a spreadsheet export, a mail client or a damaged disk might produce, through the library and
through the `husbot` command. Every case ends in a result or one clear line (a named error, `Error: …` from click),
never a traceback; the store passes `husbot check` afterwards. Figures: docs/reliability.md.
"""
from __future__ import annotations

import csv
import io
import time

import pytest
from click.testing import CliRunner
from fuzz_support import CASES, SYNTAX, examples, no_traceback, printable, questions, report
from hypothesis import given
from hypothesis import strategies as st
from support import write_corpus, write_docx, write_pdf

from adapters.cli.main import cli
from bot import Bot, Roster, Turn
from bot.minutes import MEETING_TYPES
from bot.roster import HEADER, RosterError
from indexer import index_paths
from indexer.readers import read
from knowledge import HusbotError, Knowledge, Settings, UnreadableFile
from knowledge.check import check
from knowledge.embedder import HashingEmbedder


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """One data folder (three small reports, hashing embedder) and a bot over it, shared by the module."""
    tmp = tmp_path_factory.mktemp("fuzz-files")
    settings = Settings.load(environ={}, home=str(tmp / "home"), min_confidence=0.01, scheduler=False)
    knowledge = Knowledge(settings, embedder=HashingEmbedder())
    assert index_paths(knowledge, [write_corpus(tmp / "corpus")]).errors == []
    bot = Bot(knowledge)
    yield {"knowledge": knowledge, "bot": bot, "settings": settings, "tmp": tmp}
    knowledge.close()
    for target in ("roster CSV", "minutes import", "status answers file", "file readers"):
        report(target)
    result = check(settings.home)
    assert result.ok, result.problems


def run_cli(home, args: list[str]):
    """`husbot …` in-process over the module's data folder (the command code as it runs, minus re-opening the store)."""
    result = CliRunner().invoke(cli, args, obj={"knowledge": home["knowledge"], "bot": home["bot"]},
                                catch_exceptions=True)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        args, result.output, repr(result.exception))
    assert result.exit_code in (0, 1, 2), (result.exit_code, result.output)
    assert no_traceback(result.output), result.output
    if result.exit_code:
        assert "Error" in result.output and result.output.strip(), result.output
    return result


def write_bytes(home, name: str, data: bytes):
    path = home["tmp"] / name
    path.write_bytes(data)
    return path


# -- roster CSVs -----------------------------------------------------------------------------------------------------
cells = st.one_of(st.sampled_from(["Narvik", "stad", " Orkland ", "Lyngdal", "Atlantis", "", "member", "leader",
                                   "evaluator", "admin", "Admin", "guest", "kari@narvik.no", "KARI@NARVIK.NO",
                                   "U0123ABC", "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"]),
                  st.text(printable, max_size=20), st.sampled_from(SYNTAX))
rows = st.lists(st.lists(cells, min_size=0, max_size=8), max_size=6)


@st.composite
def roster_csv(draw):
    header = draw(st.one_of(st.just(HEADER), st.just([h.upper() for h in HEADER]), st.lists(cells, max_size=7),
                            st.permutations(HEADER)))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=draw(st.sampled_from([",", ",", ",", ";", "\t"])))
    writer.writerow(header)
    writer.writerows(draw(rows))
    text = out.getvalue()
    if draw(st.integers(0, 9)) == 0:
        text = text + draw(questions())          # a broken tail: unbalanced quotes, NUL, 100 KB in one field
    return text


@examples(800)
@given(text=roster_csv())
def test_any_roster_csv_is_imported_or_refused_with_one_line(home, text):
    CASES["roster CSV"] += 1
    try:
        result = Roster(home["knowledge"].store.db).import_csv(text)
    except RosterError as e:
        assert str(e).strip() and "\n" not in str(e), str(e)
    else:
        assert set(result) == {"added", "updated"}


@examples(250)
@given(text=roster_csv(), encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1", "junk"]),
       junk=st.binary(max_size=300))
def test_husbot_roster_import_of_any_file_ends_in_a_result_or_one_error_line(home, text, encoding, junk):
    CASES["roster CSV"] += 1
    data = junk if encoding == "junk" else text.encode(encoding, "replace")
    path = write_bytes(home, "people.csv", data)
    run_cli(home, ["roster", "import", str(path)])


# -- minutes imports ---------------------------------------------------------------------------------------------------
@examples(400)
@given(text=questions(), kind=st.sampled_from(["", *MEETING_TYPES, "fest"]),
       day=st.sampled_from(["", "2025-03-04", "2025-02-30", "9999-12-31", "0001-01-01", "i går"]))
def test_referat_importer_in_chat_stores_a_draft_or_says_what_is_wrong(home, text, kind, day):
    CASES["minutes import"] += 1
    turn = Turn(f"referat importer {kind} {day} {text}", user_id="U1", channel_id="C1", platform="web",
                role="admin")
    import asyncio
    reply = asyncio.run(home["bot"].handle(turn))
    assert reply is not None and reply.text.strip() and no_traceback(reply.text)


@examples(600)
@given(text=questions(), suffix=st.sampled_from([".txt", ".md", ".txt", ".docx", ".pdf"]),
       kind=st.sampled_from(MEETING_TYPES), day=st.sampled_from(["2025-03-04", "2025-02-30", "0001-01-01", "mandag"]),
       pilot=st.sampled_from([[], ["--pilot", "Narvik"], ["--pilot", "Atlantis"]]), accept=st.integers(0, 9),
       junk=st.binary(max_size=200), raw=st.booleans())
def test_husbot_minutes_import_of_any_file_ends_in_a_result_or_one_error_line(home, text, suffix, kind, day, pilot,
                                                                              accept, junk, raw):
    CASES["minutes import"] += 1
    if suffix == ".docx" and not raw:
        xml_safe = "".join(c for c in text if c.isprintable() or c in "\n\t") or "tomt"   # Word cannot hold the rest
        path = write_docx(home["tmp"] / "referat.docx", [("Referat", xml_safe)])
    else:
        path = write_bytes(home, f"referat{suffix}", junk if raw else text.encode("utf-8", "surrogatepass"))
    args = ["minutes", "import", str(path), "--type", kind, "--date", day, *pilot]
    run_cli(home, args + (["--accept"] if accept == 0 else []))    # one in ten accepted and indexed


# -- status answer files -----------------------------------------------------------------------------------------------
KEYS = ["status", "aktiviteter", "arbeidsmoter", "budsjett", "forbrukt", "prognose", "okonomi", "erfaringer",
        "endringer_godkjent", "hjelp", "resultater", "ukjent", "Budsjett", '"nøkkel med mellomrom"', "a.b"]
toml_values = st.one_of(st.text(printable, max_size=40).map(lambda s: '"""' + s.replace("\\", "\\\\").replace('"', '\\"')
                                                             + '"""'),
                        st.sampled_from(['"1 200 000"', '"1.200.000 kr"', '"1200000,50"', '"mye"', '"ja"', '"nei"',
                                         "1200000", "-5", "1e400", "inf", "nan", "-inf", "true", "false", "1.5",
                                         "2025-03-04", "2025-03-04T10:00:00", "[1, 2]", "{a = 1}", '""', "'''x'''",
                                         '"' + "x" * 20_001 + '"', "0x10", "9" * 40]))


@st.composite
def answers_file(draw):
    lines = [f"{draw(st.sampled_from(KEYS))} = {draw(toml_values)}" for _ in range(draw(st.integers(0, 6)))]
    if draw(st.integers(0, 5)) == 0:
        lines.insert(0, "[status]")
    if draw(st.integers(0, 5)) == 0:
        lines.append(draw(questions()))       # not TOML at all
    return "\n".join(lines)


@examples(1000)
@given(text=answers_file(), pilot=st.sampled_from(["Narvik", "narvik", "Stad", "Atlantis", ""]),
       month=st.sampled_from(["2025-03", "2025-13", "2025-3", "mars"]), junk=st.binary(max_size=100),
       raw=st.integers(0, 19))
def test_husbot_status_submit_of_any_answers_file_ends_in_a_result_or_one_error_line(home, text, pilot, month, junk,
                                                                                      raw):
    CASES["status answers file"] += 1
    path = write_bytes(home, "svar.toml", junk if raw == 0 else text.encode("utf-8", "surrogatepass"))
    run_cli(home, ["status", "submit", "--pilot", pilot, "--month", month, "--file", str(path)])


# -- the file readers --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fuzz-seeds")
    body = "Piloten i Narvik samlet statlige arbeidsplasser i Sentrumsgården. " * 12
    return {".pdf": write_pdf(tmp / "a.pdf", [("Erfaringer", body), ("Resultater", body)]).read_bytes(),
            ".docx": write_docx(tmp / "a.docx", [("Erfaringer", body)], table=[("a", "b"), ("1", "2")],
                                table_after=0).read_bytes(),
            ".txt": f"Narvik – resultatnotat\n\n{body}\f{body}".encode(), ".md": f"# Narvik\n\n{body}".encode()}


@st.composite
def damaged(draw, seed: bytes):
    data = bytearray(seed)
    how = draw(st.sampled_from(["truncate", "flip", "splice", "empty", "junk", "prefix"]))
    if how == "truncate":
        data = data[:draw(st.integers(0, len(data)))]
    elif how == "flip":
        for _ in range(draw(st.integers(1, 20))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    elif how == "splice":
        at = draw(st.integers(0, len(data)))
        data[at:at] = draw(st.binary(min_size=1, max_size=200))
    elif how == "empty":
        data = bytearray()
    elif how == "junk":
        data = bytearray(draw(st.binary(max_size=2000)))
    else:
        data = bytearray(draw(st.sampled_from([b"%PDF-1.7\n", b"PK\x03\x04", b"\xef\xbb\xbf", b"\xff\xfe"]))) + data
    return bytes(data)


@examples(1000)
@given(data=st.data(), seed=st.sampled_from([".pdf", ".docx", ".txt", ".md"]),
       suffix=st.sampled_from([None, ".pdf", ".docx", ".txt", ".md", ".PDF"]))
def test_a_damaged_file_is_read_or_refused_with_one_line(home, seeds, data, seed, suffix):
    CASES["file readers"] += 1
    raw = data.draw(damaged(seeds[seed]))
    path = write_bytes(home, f"fil{suffix or seed}", raw)
    try:
        pages = read(path)
    except UnreadableFile as e:
        assert str(e).startswith(str(path)) and "\n" not in str(e) and no_traceback(str(e)), str(e)
    else:
        assert any(p.text.strip() for p in pages)


def test_a_10_mb_text_file_is_read_in_one_go(tmp_path, knowledge):
    line = "Piloten i Narvik samlet statlige arbeidsplasser, og koordinatoren fulgte opp etatene hver måned.\n"
    big = tmp_path / "stor.txt"
    big.write_text(line * (10 * 1024 ** 2 // len(line.encode())), encoding="utf-8")
    assert big.stat().st_size > 9.9 * 1024 ** 2

    started = time.perf_counter()
    pages = read(big)
    assert sum(len(p.text) for p in pages) > 9 * 1024 ** 2
    assert time.perf_counter() - started < 30


def test_empty_files_of_every_type_are_refused_with_one_line(tmp_path):
    for suffix in (".txt", ".md", ".pdf", ".docx"):
        path = tmp_path / f"tom{suffix}"
        path.write_bytes(b"")
        with pytest.raises(HusbotError) as raised:
            read(path)
        assert "\n" not in str(raised.value) and str(path) in str(raised.value)

"""`husbot status …` and `husbot token create` from the terminal: happy paths and one-line errors."""
from __future__ import annotations

import hashlib
import json
import sqlite3

from click.testing import CliRunner

from adapters.cli.main import cli

ANSWERS = '''status = "Delprosjekt 1 har hatt tre arbeidsmøter."
budsjett = "1 200 000 kr"
endringer_godkjent = true
'''


def husbot(home, *args):
    env = {"HUSBOT_HOME": None, "HUSBOT_CONFIG": None, "HUSBOT_EMBEDDER": "hashing", "HUSBOT_MIN_CONFIDENCE": None}
    return CliRunner().invoke(cli, ["--home", str(home), *args], env=env, catch_exceptions=True)


def test_cli_lists_fields_submits_an_emailed_answer_and_shows_the_overview(tmp_path):
    home = tmp_path / "home"
    fields = json.loads(husbot(home, "status", "fields", "--json").output)
    assert {"key": "budsjett", "kind": "number"}.items() <= fields[3].items()
    answers = tmp_path / "narvik.toml"
    answers.write_text(ANSWERS, encoding="utf-8")
    r = husbot(home, "status", "submit", "--pilot", "narvik", "--month", "2025-03", "--file", str(answers),
               "--by", "nora@narvik.no", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["pilot"] == "Narvik" and out["version"] == 1 and out["late"] and out["indexed"]
    assert out["answers"] == {"status": "Delprosjekt 1 har hatt tre arbeidsmøter.", "budsjett": "1200000",
                              "endringer_godkjent": "ja"}
    assert husbot(home, "status", "submit", "--pilot", "Narvik", "--month", "2025-03", "--file", str(answers)
                  ).exit_code == 0
    overview = json.loads(husbot(home, "status", "overview", "--month", "2025-03", "--json").output)
    narvik = next(p for p in overview["pilots"] if p["pilot"] == "Narvik")
    assert narvik["state"] == "late" and narvik["version"] == 2 and narvik["submitted_by"] == "cli"
    assert "Narvik" in husbot(home, "status", "overview", "--month", "2025-03").output
    form = json.loads(husbot(home, "status", "form", "--pilot", "Narvik", "--month", "2025-04", "--json").output)
    assert form["prefilled_from"] == "2025-03"


def test_cli_exports_csv_and_xlsx(tmp_path):
    home = tmp_path / "home"
    answers = tmp_path / "a.toml"
    answers.write_text(ANSWERS, encoding="utf-8")
    husbot(home, "status", "submit", "--pilot", "Stad", "--month", "2025-02", "--file", str(answers))
    r = husbot(home, "status", "export", "--from", "2025-01", "--to", "2025-03", "--format", "csv")
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    assert lines[0].startswith("pilot,month,field,label,kind,value,status,late,version,submitted_by")
    assert any(ln.startswith("Stad,2025-02,budsjett,Økonomi: budsjett (kr),number,1200000,late,ja,1,cli,cli,")
               for ln in lines)
    xlsx = tmp_path / "s.xlsx"
    assert husbot(home, "status", "export", "--from", "2025-01", "--to", "2025-03", "--format", "xlsx",
                  "--output", str(xlsx)).exit_code == 0
    from openpyxl import load_workbook
    rows = list(load_workbook(xlsx).active.iter_rows(values_only=True))
    assert rows[0][0] == "pilot" and ("Stad", "2025-02", "budsjett") in {r[:3] for r in rows}
    assert next(r for r in rows if r[2] == "budsjett")[5] == 1200000


def test_cli_reports_bad_input_in_one_line(tmp_path):
    home = tmp_path / "home"
    answers = tmp_path / "a.toml"
    answers.write_text(ANSWERS + 'visjon = "noe"\n', encoding="utf-8")
    r = husbot(home, "status", "submit", "--pilot", "Narvik", "--month", "2025-03", "--file", str(answers))
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "visjon: Ukjent felt «visjon»" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    answers.write_text(ANSWERS, encoding="utf-8")
    r = husbot(home, "status", "submit", "--pilot", "Bodø", "--month", "2025-03", "--file", str(answers))
    assert r.exit_code == 1 and "Ukjent pilot «Bodø»" in r.stderr
    r = husbot(home, "status", "submit", "--pilot", "Narvik", "--month", "03-2025", "--file", str(answers))
    assert r.exit_code == 2 and "use YYYY-MM" in r.output
    r = husbot(home, "status", "send", "--deadline", "7. mars")
    assert r.exit_code == 2 and "YYYY-MM-DD" in r.output
    broken = tmp_path / "b.toml"
    broken.write_text('status = "unterminated\n', encoding="utf-8")
    r = husbot(home, "status", "submit", "--pilot", "Narvik", "--month", "2025-03", "--file", str(broken))
    assert r.exit_code == 1 and "not a TOML file" in r.stderr
    r = husbot(home, "status", "export", "--from", "2025-05", "--to", "2025-01")
    assert r.exit_code == 2
    overview = json.loads(husbot(home, "status", "overview", "--month", "2025-03", "--json").output)
    assert overview["counts"]["missing"] == 4        # nothing was stored by the failed submissions


def test_token_create_prints_the_token_once_and_stores_only_its_hash(tmp_path):
    home = tmp_path / "home"
    r = husbot(home, "token", "create", "--role", "evaluator", "--name", "Oxford")
    assert r.exit_code == 0, r.output
    token = r.stdout.strip()
    assert token.startswith("hb_") and len(token) > 30
    db = sqlite3.connect(str(home / "husbot.db"))
    rows = db.execute("select sha256, role, name from api_tokens").fetchall()
    assert rows == [(hashlib.sha256(token.encode()).hexdigest(), "evaluator", "Oxford")]
    dump = "\n".join(db.iterdump())
    assert token not in dump
    db.close()
    from bot.tokens import Tokens
    from knowledge import Knowledge, Settings
    from knowledge.embedder import HashingEmbedder
    k = Knowledge(Settings.load(environ={}, home=str(home)), embedder=HashingEmbedder())
    assert Tokens(k.store.db).verify(token) == {"id": 1, "role": "evaluator", "name": "Oxford"}
    assert Tokens(k.store.db).verify("hb_wrong") is None
    k.close()
    assert husbot(home, "token", "revoke", "1").exit_code == 0
    assert "trukket tilbake" in husbot(home, "token", "list").output
    assert husbot(home, "token", "create", "--role", "member").exit_code == 2

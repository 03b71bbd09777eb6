"""`husbot person export|forget`: what is stored about one person, handed over or forgotten (bot/privacy.py)."""
from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from adapters.cli.main import cli
from bot import Bot, Reply, Turn
from bot.outbox import Recipient
from bot.privacy import Privacy
from indexer import index_paths
from knowledge import Knowledge, Settings
from knowledge.check import check
from knowledge.embedder import HashingEmbedder
from support import write_corpus

NAME, EMAIL, SLACK = "Nora Kvitebjørnsdatter", "nora@narvik.no", "UNORAKV"
PEOPLE = f"""pilot,name,role,email,slack_user_id,teams_aad_id
Narvik,{NAME},leader,{EMAIL},{SLACK},
Stad,Siri Sandvik,leader,siri@stad.no,USIRISA,
,Eva Evaluator,evaluator,eva@oxford.no,UEVAEVA,
"""
NOW = datetime(2025, 5, 6, 10, 0, tzinfo=ZoneInfo("Europe/Oslo"))
# why both: forgetting a person must work the same on the server database (issue 9)
pytestmark = pytest.mark.backends("sqlite", "postgresql")


def slack_turn(text, user=SLACK, name=NAME, thread="T1", role=None):
    return Turn(text, platform="slack", user_id=user, user_name=name, channel_id="C1", thread_id=thread, role=role)


@pytest.fixture
def bot(tmp_path, database_url):
    k = Knowledge(Settings.load(environ={}, home=str(tmp_path / "home"), database_url=database_url),
                  embedder=HashingEmbedder())
    assert index_paths(k, [write_corpus(tmp_path / "corpus")]).errors == []
    b = Bot(k)
    b.roster.import_csv(PEOPLE)
    b.status.round.now = lambda: NOW
    yield b
    k.close()


async def fill(bot):
    """Nora and Siri each ask, vote, write in a captured meeting, answer the status round and get a prompt."""
    for user, name in ((SLACK, NAME), ("USIRISA", "Siri Sandvik")):
        reply = await bot.handle(slack_turn("Hva tilbyr huben i Orkland?", user, name, thread=f"Q{user}"))
        assert reply.answer_id
        await bot.act(slack_turn("", user, name, thread=f"Q{user}"), "feedback_down", reply.answer_id)
    assert (await bot.handle(slack_turn("referat start styringsgruppe Narvik budsjett", role="admin"))).kind == \
        "minutes_started"
    await bot.handle(slack_turn("Vi ble enige om å flytte kontoret til rådhuset."))
    await bot.handle(slack_turn(f"{NAME} sender husleieavtalen innen fredag.", "USIRISA", "Siri Sandvik"))
    await bot.handle(slack_turn("referat stopp", role="admin"))
    accepted = await bot.handle(slack_turn("referat godta", "UEVAEVA", "Eva Evaluator", role="admin"))
    assert accepted.kind == "minutes_accepted", accepted.text
    round_ = bot.status.round
    for pilot, by in (("Narvik", NAME), ("Stad", "Siri Sandvik")):
        answer = round_.submit(pilot, "2025-04", {"status": f"Kontorfellesskapet i {pilot} vokser. Kontakt: {by}.",
                                                  "erfaringer": "Felles lunsj virker."}, by=by, platform="slack")
        assert await round_.index(answer)
    person = next(p for p in bot.roster.people() if p["email"] == EMAIL)
    await bot.outbox.send("status_prompt:2025-05:Narvik:1", "status_prompt", Recipient.of(person),
                          Reply("status_prompt", f"Hei {NAME}, fyll ut status for mai.", "nb"))


def dump(bot) -> str:
    """Every row of every table, as text (on either backend)."""
    db = bot.knowledge.store.db
    return "\n".join(f"{table}: {row!r}" for table in sorted(db.table_names()) if not table.startswith("sqlite_")
                     for row in db.query(f"select * from {table} order by 1"))


async def test_export_holds_the_persons_data_and_nobody_elses(bot):
    await fill(bot)
    data = Privacy(bot).export(EMAIL)
    assert data["roster"]["name"] == NAME and data["roster"]["slack_user_id"] == SLACK
    assert [a["question"] for a in data["answers"]] == ["Hva tilbyr huben i Orkland?"]
    assert {a["user_id"] for a in data["answers"] + data["feedback"] + data["conversations"]} == {SLACK}
    assert [f["vote"] for f in data["feedback"]] == [-1]
    assert [m["text"] for m in data["minutes_messages"]] == ["Vi ble enige om å flytte kontoret til rådhuset."]
    assert [a["owner"] for a in data["action_items"]] == [NAME]
    assert [(s["pilot"], s["submitted_by"]) for s in data["status_answers"]] == [("Narvik", NAME)]
    assert [o["kind"] for o in data["outbox"]] == ["status_prompt"]
    text = json.dumps(data, ensure_ascii=False)
    assert "Siri Sandvik" not in text and "USIRISA" not in text and "siri@stad.no" not in text
    assert Privacy(bot).export("ingen@example.no")["answers"] == []


async def test_forget_removes_the_person_everywhere_and_keeps_status_answers_anonymised(bot):
    await fill(bot)
    k = bot.knowledge
    assert NAME in dump(bot) and any(NAME in h.passage.text for h in k.search(NAME, k=20))
    report = Privacy(bot).forget(EMAIL)
    assert report["pseudonym"] == "slettet bruker #1"
    assert report["deleted"]["people"] == 1 and report["deleted"]["answers"] == 1 and report["deleted"]["feedback"] == 1
    assert report["reindexed"] == {"minutes": [1], "status": ["Narvik 2025-04"]}
    # nothing left to export; the name, e-mail and Slack id are in no table
    after = Privacy(bot).export(EMAIL)
    assert after["roster"] is None and not any(v for v in after.values() if isinstance(v, list))
    text = dump(bot)
    for secret in (NAME, EMAIL, SLACK, "Kvitebjørnsdatter"):
        assert secret.lower() not in text.lower(), secret
    assert "slettet bruker #1" in text
    # nor in search results; the anonymised minutes and status answer are still found
    hits = k.search("husleieavtalen Kvitebjørnsdatter", k=20)
    assert hits and not any(NAME in h.passage.text for h in hits)
    assert any("slettet bruker #1 sender husleieavtalen" in h.passage.text for h in hits)
    # the status answer still counts (late: April answered in May), under the pseudonym; Siri's is untouched
    rows = {r["pilot"]: r for r in bot.status.overview_data("2025-04")["pilots"]}
    assert rows["Narvik"]["state"] == "late" and rows["Narvik"]["submitted_by"] == "slettet bruker #1"
    assert rows["Stad"]["submitted_by"] == "Siri Sandvik"
    assert [a["question"] for a in Privacy(bot).export("siri@stad.no")["answers"]] == ["Hva tilbyr huben i Orkland?"]
    report = check(k.settings.home, k.settings.database_url)
    assert report.ok, report.problems
    # a second person forgotten gets the next number
    assert Privacy(bot).forget("siri@stad.no")["pseudonym"] == "slettet bruker #2"


async def test_forget_of_someone_unknown_changes_nothing(bot):
    await fill(bot)
    before = dump(bot)
    assert Privacy(bot).forget("ukjent@example.no")["pseudonym"] is None
    assert dump(bot) == before


async def test_person_commands_export_json_and_forget_after_confirmation(bot, tmp_path):
    await fill(bot)
    home = str(bot.knowledge.settings.home)
    bot.knowledge.close()
    runner = CliRunner(env={"HUSBOT_EMBEDDER": "hashing",
                            "HUSBOT_DATABASE_URL": bot.knowledge.settings.database_url or None})
    out = runner.invoke(cli, ["--home", home, "person", "export", EMAIL])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["roster"]["name"] == NAME
    refused = runner.invoke(cli, ["--home", home, "person", "forget", EMAIL], input="n\n")
    assert refused.exit_code == 1 and "Slette og anonymisere" in refused.output
    assert json.loads(runner.invoke(cli, ["--home", home, "person", "export", EMAIL]).output)["roster"]
    done = runner.invoke(cli, ["--home", home, "person", "forget", EMAIL, "--yes"])
    assert done.exit_code == 0, done.output
    assert "Slettet 1 fra personlisten." in done.output and "slettet bruker #1" in done.output
    assert "Indekserte på nytt: referat 1, status Narvik 2025-04." in done.output
    gone = json.loads(runner.invoke(cli, ["--home", home, "person", "export", EMAIL]).output)
    assert gone["roster"] is None and gone["status_answers"] == []
    assert "Fant ingenting lagret" in runner.invoke(cli, ["--home", home, "person", "forget", EMAIL]).output

"""The monthly status round: calendar, scheduled prompts and reminders, forms, versions, roles, answers, export."""
from __future__ import annotations

import asyncio
import csv
import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot import Bot, Turn, t
from bot.status import (StatusError, add_working_days, export_rows, first_working_day, is_working_day, load_fields,
                        to_csv, to_xlsx)
from bot.status.calendar import round_dates
from indexer import index_paths
from knowledge import Knowledge, Settings
from support import write_corpus

# why both: the store suite runs on SQLite and on PostgreSQL alike (issue 9)
pytestmark = pytest.mark.backends("sqlite", "postgresql")

OSLO = ZoneInfo("Europe/Oslo")
PEOPLE = """pilot,name,role,email,slack_user_id,teams_aad_id
Narvik,Nora Leder,leader,nora@narvik.no,UNARVIK,
Stad,Siri Leder,leader,siri@stad.no,USTAD,
Stad,Sverre Medlem,member,sverre@stad.no,USVERRE,
Orkland,Olav Leder,leader,olav@orkland.no,,
,Eva Evaluator,evaluator,eva@oxford.no,UEVA,
"""


def at(*args) -> datetime:
    return datetime(*args, tzinfo=OSLO)


class FakeSender:
    """Stands in for Slack's DM sender: records every message the outbox hands it."""

    def __init__(self):
        self.sent = []

    async def __call__(self, recipient, reply):
        self.sent.append((recipient, reply))

    def to(self) -> list[tuple[str, str, str]]:
        return [(r.slack_user_id, reply.kind, reply.data["pilot"]) for r, reply in self.sent]


def make_bot(knowledge) -> tuple[Bot, FakeSender]:
    b = Bot(knowledge)
    sender = FakeSender()
    b.outbox.register("slack", sender)
    return b, sender


@pytest.fixture
def home(tmp_path, embedder, database_url) -> Knowledge:
    # why the low threshold: confidence is calibrated for e5 similarities, not for the fake embedder's
    k = Knowledge(Settings.load(environ={}, home=str(tmp_path / "home"), min_confidence=0.01,
                                database_url=database_url), embedder=embedder)
    assert index_paths(k, [write_corpus(tmp_path / "corpus")]).errors == []
    yield k
    k.close()


@pytest.fixture
def bot(home):
    b, sender = make_bot(home)
    b.roster.import_csv(PEOPLE)
    b.sender = sender
    return b


def clock(bot, when: datetime) -> None:
    bot.status.round.now = lambda: when


def slack(user: str, text: str = "") -> Turn:
    return Turn(text, platform="slack", user_id=user, user_name=user, channel_id=f"D{user}", is_dm=True)


async def submit(bot, user, pilot, month, values):
    return await bot.act(slack(user), "status_submit", {"pilot": pilot, "month": month, "values": values})


# -- calendar -----------------------------------------------------------------------------------------------------
def test_working_days_skip_weekends_and_norwegian_public_holidays():
    assert not is_working_day(date(2025, 5, 1))          # Labour Day (Thursday)
    assert not is_working_day(date(2027, 5, 17))         # Constitution Day on a Monday
    assert not is_working_day(date(2025, 4, 17)) and not is_working_day(date(2025, 4, 18))   # Maundy Thu, Good Fri
    assert not is_working_day(date(2025, 4, 21))         # Easter Monday
    assert not is_working_day(date(2025, 3, 1))          # a Saturday
    assert is_working_day(date(2025, 3, 3))
    assert first_working_day("2025-05") == date(2025, 5, 2)
    assert first_working_day("2025-03") == date(2025, 3, 3)
    assert first_working_day("2026-01") == date(2026, 1, 2)
    assert add_working_days(date(2025, 4, 16), 1) == date(2025, 4, 22)     # across Easter
    assert add_working_days(date(2025, 5, 9), -1) == date(2025, 5, 8)


def test_round_dates_count_working_days_to_the_deadline_and_back_to_the_reminders():
    d = round_dates("2025-05", "Europe/Oslo", 9, 5, [2, 0])
    assert d.opens_at == at(2025, 5, 2, 9)
    assert d.deadline == date(2025, 5, 9)
    assert d.reminders == (date(2025, 5, 7), date(2025, 5, 9))
    # Ascension Day (29 May 2025) is skipped when the deadline spans it
    assert round_dates("2025-05", "Europe/Oslo", 9, 5, [0], opens_at=at(2025, 5, 26, 9)).deadline == date(2025, 6, 3)


# -- the scheduled round ------------------------------------------------------------------------------------------
async def test_the_round_opens_at_its_time_on_the_first_working_day_and_prompts_each_leader_once(bot):
    assert await bot.schedule.run("status_round", at(2025, 5, 1, 10)) == {"skipped": "not yet"}   # holiday
    assert await bot.schedule.run("status_round", at(2025, 5, 2, 8, 45)) == {"skipped": "not yet"}
    assert bot.sender.sent == []
    counts = await bot.schedule.run("status_round", at(2025, 5, 2, 9, 0))
    assert counts == {"sent": 2, "undeliverable": 1, "no_leader": 1}      # Orkland's leader has no Slack id
    assert sorted(bot.sender.to()) == [("UNARVIK", "status_prompt", "Narvik"), ("USTAD", "status_prompt", "Stad")]
    _, prompt = next(x for x in bot.sender.sent if x[0].slack_user_id == "UNARVIK")
    assert [(a.kind, a.value) for a in prompt.actions] == [("status_open", "Narvik:2025-05")]
    assert prompt.data == {"pilot": "Narvik", "month": "2025-05", "deadline": "2025-05-09", "reminder": False}
    assert "2025-05-09" in prompt.text
    again = await bot.schedule.run("status_round", at(2025, 5, 2, 9, 15))
    assert again.get("sent", 0) == 0 and again["already"] == 2
    assert len(bot.sender.sent) == 2
    recorded = [r for r in bot.outbox.sent("status_prompt")]
    assert {r["key"] for r in recorded} >= {"status_prompt:2025-05:Narvik:1", "status_prompt:2025-05:Stad:2"}


async def test_a_round_due_while_the_server_was_down_is_sent_once_at_start_up(bot, home):
    # the server was down on 2 May; it starts on 5 May and catches up
    counts = await bot.schedule.run("status_round", at(2025, 5, 5, 7, 30))
    assert counts["sent"] == 2
    assert bot.status.round.book.round("2025-05")["source"] == "schedule"
    restarted, sender = make_bot(home)          # a new process over the same data folder
    assert (await restarted.schedule.run("status_round", at(2025, 5, 5, 7, 31))).get("sent", 0) == 0
    assert sender.sent == [] and len(bot.sender.sent) == 2


async def test_reminders_reach_only_leaders_of_pilots_that_have_not_answered(bot):
    await bot.schedule.run("status_round", at(2025, 5, 2, 9))
    clock(bot, at(2025, 5, 6, 12))
    saved = await submit(bot, "UNARVIK", "Narvik", "2025-05", {"status": "Delprosjekt 1 er i rute."})
    assert saved.kind == "status_saved"
    bot.sender.sent.clear()
    assert await bot.schedule.run("status_reminders", at(2025, 5, 6, 9)) == {}     # not a reminder day
    await bot.schedule.run("status_reminders", at(2025, 5, 7, 9))
    assert bot.sender.to() == [("USTAD", "status_reminder", "Stad")]
    await bot.schedule.run("status_reminders", at(2025, 5, 7, 14))
    await bot.schedule.run("status_reminders", at(2025, 5, 8, 9))                   # the 7th's reminder, not again
    assert len(bot.sender.sent) == 1
    await bot.schedule.run("status_reminders", at(2025, 5, 9, 9))                   # deadline day
    assert len(bot.sender.sent) == 2
    await bot.schedule.run("status_reminders", at(2025, 5, 12, 9))                  # after the deadline: silence
    assert len(bot.sender.sent) == 2


async def test_an_evaluator_starts_a_round_by_hand_with_a_deadline(bot):
    clock(bot, at(2025, 3, 12, 10))
    reply = await bot.handle(slack("UEVA", "status send 2025-03 frist 2025-03-21"))
    assert reply.kind == "status_started"
    assert reply.data["round"]["deadline"] == "2025-03-21" and reply.data["counts"]["sent"] == 2
    assert sorted(bot.sender.to())[0] == ("UNARVIK", "status_prompt", "Narvik")
    denied = await bot.handle(slack("UNARVIK", "status send 2025-03"))
    assert denied.text == t("status_not_allowed", "nb")
    bad = await bot.handle(slack("UEVA", "status send 2025-13"))
    assert bad.kind == "error" and "ÅÅÅÅ-MM" in bad.text


# -- the form and answers -----------------------------------------------------------------------------------------
async def test_the_form_is_prefilled_from_last_month_and_lists_open_action_items(bot):
    clock(bot, at(2025, 4, 3, 10))
    await submit(bot, "UNARVIK", "Narvik", "2025-04", {"status": "Rekrutteringen går bra.", "budsjett": "1 200 000",
                                                        "erfaringer": "Felles lunsj virker."})
    await bot.handle(Turn("referat importer arbeidsmøte 2025-04-20 Narvik\nKari sender husleieavtalen innen fredag.",
                          role="admin", thread_id="M1"))
    await bot.handle(Turn("referat godta", role="admin", thread_id="M1"))
    clock(bot, at(2025, 5, 5, 10))
    form = (await bot.act(slack("UNARVIK"), "status_open", "Narvik:2025-05")).data["form"]
    assert form["pilot"] == "Narvik" and form["month"] == "2025-05" and form["deadline"] == "2025-05-09"
    assert form["prefilled_from"] == "2025-04" and form["submit"] == "Send inn" and not form["late"]
    by_key = {f["key"]: f for f in form["fields"]}
    assert by_key["budsjett"]["value"] == "1200000" and by_key["budsjett"]["kind"] == "number"
    assert by_key["budsjett"]["source"] == "last_month" and not by_key["budsjett"]["changed"]
    assert by_key["status"]["required"] and by_key["status"]["label"] == "Status og resultatoppnåelse per delprosjekt"
    assert [a["text"] for a in form["tasks"]] == ["sender husleieavtalen"]
    await submit(bot, "UNARVIK", "Narvik", "2025-05", {"status": "Rekrutteringen går bra.", "budsjett": "1 300 000"})
    form = (await bot.act(slack("UNARVIK"), "status_open", "Narvik:2025-05")).data["form"]
    by_key = {f["key"]: f for f in form["fields"]}
    assert form["version"] == 1 and by_key["budsjett"]["source"] == "this_month"
    assert by_key["budsjett"]["changed"] and by_key["budsjett"]["previous"] == "1200000"
    assert not by_key["status"]["changed"] and by_key["erfaringer"]["value"] == ""


async def test_every_submission_is_a_new_version_even_when_two_arrive_at_once(bot):
    clock(bot, at(2025, 5, 5, 10))
    first, second = await asyncio.gather(
        submit(bot, "UNARVIK", "Narvik", "2025-05", {"status": "Fra Slack."}),
        bot.act(Turn("", platform="teams", user_id="x", role="evaluator"), "status_submit",
                '{"pilot": "narvik", "month": "2025-05", "values": {"status": "Fra Teams."}}'))
    assert {first.kind, second.kind} == {"status_saved"}
    versions = bot.status.round.book.versions("Narvik", "2025-05")
    assert [v["version"] for v in versions] == [1, 2]
    assert {v["answers"]["status"] for v in versions} == {"Fra Slack.", "Fra Teams."}
    assert {v["platform"] for v in versions} == {"slack", "teams"}


async def test_a_submission_after_the_deadline_is_accepted_and_flagged_late(bot):
    await bot.schedule.run("status_round", at(2025, 5, 2, 9))
    clock(bot, at(2025, 5, 9, 23, 59))
    on_time = await submit(bot, "USTAD", "Stad", "2025-05", {"status": "Akkurat i tide."})
    assert on_time.kind == "status_saved" and not on_time.data["late"]
    clock(bot, at(2025, 5, 10, 0, 1))
    form = (await bot.act(slack("UNARVIK"), "status_open", "Narvik:2025-05")).data["form"]
    assert form["late"] and t("status_form_late", "nb") in form["intro"]
    late = await submit(bot, "UNARVIK", "Narvik", "2025-05", {"status": "Litt sent ute."})
    assert late.kind == "status_saved" and late.data["late"]
    assert t("status_saved_late", "nb", deadline="2025-05-09") in late.text
    stored = bot.status.round.book.latest("Narvik", "2025-05")
    assert stored["late"] and stored["answers"]["status"] == "Litt sent ute."


async def test_bad_submissions_get_clear_errors_per_field_and_store_nothing(bot):
    clock(bot, at(2025, 5, 5, 10))
    r = await submit(bot, "UNARVIK", "Narvk", "2025-05", {"status": "x"})
    assert r.kind == "error" and r.text == t("status_unknown_pilot", "nb", pilot="Narvk",
                                             pilots="Stad, Orkland, Narvik, Lyngdal")
    r = await submit(bot, "UNARVIK", "Narvik", "mai 2025", {"status": "x"})
    assert r.kind == "error" and r.data["error"] == "status_bad_month"
    r = await submit(bot, "UNARVIK", "Narvik", "2025-05", {"status": "x", "erfaringer": "ø" * 50_000,
                                                         "budsjett": "mye", "endringer_godkjent": "kanskje",
                                                         "visjon": "y"})
    assert r.kind == "status_invalid"
    errors = r.data["errors"]
    assert set(errors) == {"erfaringer", "budsjett", "endringer_godkjent", "visjon"}
    assert errors["erfaringer"] == t("status_field_too_long", "nb", n=50_000, max=20_000)
    assert "ikke et tall" in errors["budsjett"] and "ja eller nei" in errors["endringer_godkjent"]
    r = await submit(bot, "UNARVIK", "Narvik", "2025-05", {"erfaringer": "Mangler status."})
    assert r.data["errors"] == {"status": t("status_field_required", "nb")}
    r = await bot.act(slack("UNARVIK"), "status_submit", "not json")
    assert r.kind == "error" and r.data["error"] == "status_bad_form"
    r = await submit(bot, "UNARVIK", "Narvik", "2025-07", {"status": "x"})
    assert r.data["error"] == "status_future_month"
    assert bot.status.round.book.versions("Narvik", "2025-05") == []


# -- knowledge and roles ------------------------------------------------------------------------------------------
async def test_a_question_about_a_pilots_reported_finances_cites_its_status_answer(bot):
    clock(bot, at(2025, 3, 14, 10))
    saved = await submit(bot, "UNARVIK", "Narvik", "2025-03", {
        "status": "Delprosjektet om rekruttering har lyst ut to stillinger.",
        "budsjett": "1 200 000", "forbrukt": "950 000", "prognose": "1 250 000",
        "okonomi": "Forbruket ligger over budsjettet fordi husleien i Sentrumsgården økte."})
    assert saved.data["indexed"]
    question = "Hva rapporterte Narvik om økonomi i mars 2025?"
    evaluator = await bot.handle(slack("UEVA", question))
    cited = [c for c in evaluator.citations if c.document == "status-narvik-2025-03"]
    assert evaluator.found and cited, [c.document for c in evaluator.citations]
    assert cited[0].title == "Månedsstatus Narvik mars 2025" and cited[0].section == "Økonomi"
    leader = await bot.handle(slack("UNARVIK", question))
    assert any(c.document == "status-narvik-2025-03" for c in leader.citations)
    other = await bot.handle(slack("USVERRE", question))
    assert not any(c.document.startswith("status-") for c in other.citations)


async def test_a_member_of_another_pilot_cannot_see_the_overview_or_that_pilots_answers(bot):
    clock(bot, at(2025, 3, 14, 10))
    await submit(bot, "UNARVIK", "Narvik", "2025-03", {"status": "Hemmelig framdrift."})
    r = await bot.handle(slack("USVERRE", "status oversikt 2025-03"))
    assert r.kind == "error" and r.text == t("status_not_allowed", "nb") and "overview" not in r.data
    r = await bot.act(slack("USVERRE"), "status_open", "Narvik:2025-03")
    assert r.kind == "error" and "form" not in r.data
    r = await submit(bot, "USVERRE", "Narvik", "2025-03", {"status": "Overskrevet?"})
    assert r.kind == "error" and r.text == t("status_not_allowed_pilot", "nb", pilot="Narvik")
    r = await bot.act(Turn("", platform="slack", user_id="UNKNOWN"), "status_open", "Narvik:2025-03")
    assert r.kind == "error"
    own = await bot.handle(slack("USVERRE", "status svar"))     # a member opens the own pilot's form
    assert own.kind == "status_form" and own.data["form"]["pilot"] == "Stad"
    assert bot.status.round.book.latest("Narvik", "2025-03")["answers"]["status"] == "Hemmelig framdrift."


async def test_the_overview_shows_answered_late_missing_and_empty_or_unchanged_fields(bot):
    clock(bot, at(2025, 4, 2, 10))
    await submit(bot, "UNARVIK", "Narvik", "2025-04", {"status": "A", "erfaringer": "Samme som før."})
    await bot.schedule.run("status_round", at(2025, 5, 2, 9))
    clock(bot, at(2025, 5, 6, 10))
    await submit(bot, "UNARVIK", "Narvik", "2025-05", {"status": "B", "erfaringer": "Samme som før."})
    clock(bot, at(2025, 5, 13, 10))
    await submit(bot, "USTAD", "Stad", "2025-05", {"status": "Sent, men godt."})
    reply = await bot.handle(slack("UEVA", "status oversikt 2025-05"))
    assert reply.kind == "status_overview"
    data = reply.data["overview"]
    states = {row["pilot"]: row["state"] for row in data["pilots"]}
    assert states == {"Stad": "late", "Orkland": "missing", "Narvik": "answered", "Lyngdal": "missing"}
    assert data["counts"] == {"answered": 1, "late": 1, "missing": 2}
    narvik = next(row for row in data["pilots"] if row["pilot"] == "Narvik")
    assert narvik["unchanged"] == ["erfaringer"] and narvik["fields"]["status"] == "filled"
    assert "budsjett" in narvik["empty"]
    assert reply.text.startswith(t("status_overview_head", "nb", month="mai 2025", deadline="2025-05-09", answered=1,
                                   late=1, missing=2))
    assert "Narvik: svart (v1" in reply.text and "uendret fra forrige måned: Erfaringer" in reply.text


async def test_status_followed_by_a_question_is_answered_not_treated_as_a_command(bot):
    reply = await bot.handle(slack("UEVA", "status på rekruttering i Narvik?"))
    assert reply.kind == "answer"
    assert (await bot.handle(slack("UEVA", "status"))).kind == "help"


# -- export -------------------------------------------------------------------------------------------------------
async def test_export_has_one_row_per_pilot_month_and_field_as_csv_and_xlsx(bot, tmp_path):
    await bot.schedule.run("status_round", at(2025, 5, 2, 9))
    clock(bot, at(2025, 5, 6, 10))
    await submit(bot, "UNARVIK", "Narvik", "2025-05", {"status": "Bra, æøå.", "budsjett": "1 200 000"})
    rows = export_rows(bot.status.round.book, bot.status.round.fields, "2025-04", "2025-05")
    n_fields = len(bot.status.round.fields)
    assert len(rows) == 4 * n_fields              # April had no round and no answers; May has four pilots
    parsed = list(csv.DictReader(io.StringIO(to_csv(rows))))
    budget = next(r for r in parsed if r["pilot"] == "Narvik" and r["field"] == "budsjett")
    assert budget["value"] == "1200000" and budget["status"] == "answered" and budget["submitted_by"] == "UNARVIK"
    assert budget["submitted_at"].startswith("2025-05-06T10:00:00") and budget["deadline"] == "2025-05-09"
    assert next(r for r in parsed if r["pilot"] == "Lyngdal" and r["field"] == "status")["status"] == "missing"
    from openpyxl import load_workbook
    path = to_xlsx(rows, tmp_path / "status.xlsx")
    ws = load_workbook(path).active
    header = [c.value for c in ws[1]]
    assert header[:6] == ["pilot", "month", "field", "label", "kind", "value"]
    cells = {(r[0], r[2]): r for r in ws.iter_rows(min_row=2, values_only=True)}
    assert cells[("Narvik", "budsjett")][5] == 1200000            # a number a spreadsheet can sum
    assert cells[("Narvik", "status")][5] == "Bra, æøå."
    assert ws.max_row == 1 + 4 * n_fields


# -- fields configuration -----------------------------------------------------------------------------------------
def test_the_field_list_comes_from_a_toml_file_and_a_bad_file_is_reported(tmp_path, embedder, database_url):
    assert [f.key for f in load_fields()][:3] == ["status", "aktiviteter", "arbeidsmoter"]
    good = tmp_path / "fields.toml"
    good.write_text('[[field]]\nkey = "fremdrift"\nlabel = "Fremdrift"\nrequired = true\n\n'
                    '[[field]]\nkey = "kroner"\nlabel = { nb = "Kroner", en = "NOK" }\nkind = "number"\n',
                    encoding="utf-8")
    k = Knowledge(Settings.load(environ={}, home=str(tmp_path / "h"), status_fields_file=str(good),
                                database_url=database_url), embedder=embedder)
    b = Bot(k)
    assert [f.key for f in b.status.round.fields] == ["fremdrift", "kroner"]
    assert b.status.round.fields[1].text("label", "en") == "NOK"
    k.close()
    bad = tmp_path / "bad.toml"
    bad.write_text('[[field]]\nkey = "x"\nlabel = "X"\nkind = "dato"\n', encoding="utf-8")
    with pytest.raises(StatusError, match="kind must be one of text, number, yesno"):
        load_fields(bad)

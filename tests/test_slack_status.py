"""The monthly status round on Slack: the scheduled DM with its button, the modal (prefilled, action items, long
values, pages), a signed submission stored and cited, errors shown in the modal, reminders, the overview, commands."""
from __future__ import annotations

import asyncio
import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestServer
from slack_support import Husbot, actions_of, fake, start_husbot, texts_of  # noqa: F401 (fixtures)

from adapters.slack.status import MAX_INPUT, MAX_MODAL_BLOCKS, STATUS_VIEW, form_view, pages
from bot import Turn, t

OSLO = ZoneInfo("Europe/Oslo")
PEOPLE = """pilot,name,role,email,slack_user_id,teams_aad_id
Narvik,Nora Leder,leader,nora@narvik.no,U1,
Stad,Siri Leder,leader,siri@stad.no,USTAD,
Stad,Sverre Medlem,member,sverre@stad.no,USVERRE,
,Eva Evaluator,evaluator,eva@oxford.no,UEVA,
"""
ROUND_OPENS = datetime(2025, 3, 3, 9, tzinfo=OSLO)     # first working day of March 2025, 09:00
QUESTION = "Hva rapporterte Narvik om økonomi i mars 2025?"


@pytest.fixture
async def husbot(tmp_path, fake):
    # why the low threshold: confidence is calibrated for e5 similarities, not for the fake embedder's
    _, knowledge, app = await start_husbot(tmp_path, fake, min_confidence=0.01)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    h = Husbot(server, fake)
    h.bot.roster.import_csv(PEOPLE)
    yield h
    await asyncio.sleep(0.05)
    await server.close()
    knowledge.close()


def clock(husbot: Husbot, *when) -> None:
    husbot.bot.status.round.now = lambda: datetime(*when, tzinfo=OSLO)


def dms(fake, user: str) -> list[dict]:
    return [p for p in fake.called("chat.postMessage") if p["channel"] == user]


async def last_month(husbot: Husbot) -> None:
    """Narvik's February answer, so March's form is prefilled; and an open action item from Narvik's minutes."""
    clock(husbot, 2025, 2, 20, 10)
    saved = await husbot.bot.act(Turn("", platform="slack", user_id="U1"), "status_submit", {
        "pilot": "Narvik", "month": "2025-02",
        "values": {"status": "Rekrutteringen går bra.", "budsjett": "1 200 000", "endringer_godkjent": "ja"}})
    assert saved.kind == "status_saved"
    await husbot.bot.handle(Turn("referat importer arbeidsmøte 2025-02-24 Narvik\n"
                                 "Kari sender husleieavtalen innen fredag.", role="admin", thread_id="M1"))
    await husbot.bot.handle(Turn("referat godta", role="admin", thread_id="M1"))


async def open_form(husbot: Husbot, fake) -> dict:
    """The scheduled round's DM to Narvik's leader, its button pressed: the modal views.open was given."""
    await husbot.bot.schedule.run("status_round", ROUND_OPENS)
    [prompt] = dms(fake, "U1")
    clock(husbot, 2025, 3, 5, 10)
    [button] = actions_of(prompt)
    status, _ = await husbot.press(prompt, button, channel="D1")
    assert status == 200
    [opened] = await fake.wait_for("views.open")
    return opened["view"]


def state_of(**values) -> dict:
    out = {}
    for key, value in values.items():
        if value in ("ja", "nei"):
            out[key] = {key: {"type": "static_select", "selected_option": {"value": value}}}
        else:
            out[key] = {key: {"type": "plain_text_input", "value": value}}
    return out


async def submit(husbot: Husbot, view: dict, user: str = "U1", **values) -> tuple[int, str]:
    return await husbot.interact({"type": "view_submission", "trigger_id": "trigger-2",
                                  "user": {"id": user, "username": user.lower()},
                                  "view": {**view, "id": "V1", "state": {"values": state_of(**values)}}})


def inputs(view: dict) -> dict[str, dict]:
    return {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}


# -- the prompt and the modal -------------------------------------------------------------------------------------
async def test_the_scheduled_round_dms_the_leader_a_button_that_opens_the_prefilled_form(husbot, fake):
    await last_month(husbot)
    assert await husbot.bot.schedule.run("status_round", datetime(2025, 3, 3, 8, 45, tzinfo=OSLO)) == \
        {"skipped": "not yet"}
    assert fake.called("chat.postMessage") == []
    view = await open_form(husbot, fake)
    [prompt] = dms(fake, "U1")
    assert "Det er tid for månedsstatus for Narvik (mars 2025). Fristen er 2025-03-10." in prompt["text"]
    assert [(b["action_id"], b["value"], b["text"]["text"]) for b in actions_of(prompt)] == [
        ("status_open:0", "Narvik:2025-03", "Fyll ut status")]
    assert sorted(p["channel"] for p in fake.called("chat.postMessage")) == ["U1", "USTAD"]
    # the modal: one box per field, prefilled from February, with what came from last month
    assert view["callback_id"] == STATUS_VIEW and len(view["title"]["text"]) <= 24
    assert view["submit"]["text"] == "Send inn"
    boxes = inputs(view)
    assert list(boxes) == [f.key for f in husbot.bot.status.round.fields]
    assert boxes["budsjett"]["element"]["initial_value"] == "1200000"
    assert t("status_form_from_last", "nb") in boxes["budsjett"]["hint"]["text"]
    assert boxes["status"]["element"]["initial_value"] == "Rekrutteringen går bra."
    assert not boxes["status"]["optional"] and boxes["erfaringer"]["optional"]
    assert "initial_value" not in boxes["erfaringer"]["element"]
    text = boxes["erfaringer"]["element"]
    assert text["multiline"] and text["max_length"] == MAX_INPUT
    assert "plass til 3\u00a0000 tegn her (feltet tar 20\u00a0000)" in boxes["erfaringer"]["hint"]["text"]
    assert not boxes["budsjett"]["element"]["multiline"]
    yesno = boxes["endringer_godkjent"]["element"]
    assert yesno["type"] == "static_select" and yesno["initial_option"]["value"] == "ja"
    assert "sender husleieavtalen" in texts_of(view)           # the pilot's open action items
    assert "Frist 2025-03-10" in texts_of(view)
    meta = json.loads(view["private_metadata"])
    assert {k: meta[k] for k in ("pilot", "month", "lang", "channel")} == {
        "pilot": "Narvik", "month": "2025-03", "lang": "nb", "channel": "D1"}
    assert len(view["blocks"]) <= MAX_MODAL_BLOCKS


async def test_a_submitted_form_is_stored_confirmed_in_a_dm_and_cited_for_the_evaluator(husbot, fake):
    await last_month(husbot)
    view = await open_form(husbot, fake)
    status, body = await submit(husbot, view, status="Delprosjektet om rekruttering har lyst ut to stillinger.",
                                budsjett="1 200 000", forbrukt="950 000 kr", prognose="1.250.000",
                                okonomi="Forbruket ligger over budsjettet fordi husleien i Sentrumsgården økte.",
                                endringer_godkjent="nei")
    assert status == 200 and body == ""                        # the modal closes
    confirm = (await fake.wait_for("chat.postMessage", 3))[-1]
    assert confirm["channel"] == "U1"
    assert confirm["text"] == t("status_saved", "nb", pilot="Narvik", month="mars 2025", version=1)
    stored = husbot.bot.status.round.book.latest("Narvik", "2025-03")
    assert stored["answers"]["forbrukt"] == "950000" and stored["answers"]["endringer_godkjent"] == "nei"
    assert stored["platform"] == "slack" and not stored["late"]
    await husbot.dm(QUESTION, user="UEVA", ts="1700000300.000100")
    answer = (await fake.wait_for("chat.postMessage", 4))[-1]
    assert answer["channel"] == "D1"
    assert "Månedsstatus Narvik mars 2025" in texts_of(answer), texts_of(answer)


async def test_a_late_submission_is_stored_and_the_dm_says_it_was_late(husbot, fake):
    view = await open_form(husbot, fake)
    clock(husbot, 2025, 3, 11, 8)
    status, _ = await submit(husbot, view, status="Litt sent ute.")
    assert status == 200
    confirm = (await fake.wait_for("chat.postMessage", 3))[-1]
    assert t("status_saved_late", "nb", deadline="2025-03-10") in confirm["text"]
    assert husbot.bot.status.round.book.latest("Narvik", "2025-03")["late"]


async def test_bad_values_are_shown_next_to_their_boxes_in_the_ack_and_nothing_is_stored(husbot, fake):
    view = await open_form(husbot, fake)
    status, body = await submit(husbot, view, status="Noe", erfaringer="ø" * 50_000, budsjett="mye")
    assert status == 200
    ack = json.loads(body)
    assert ack["response_action"] == "errors"
    assert ack["errors"]["erfaringer"] == t("status_field_too_long", "nb", n=50_000, max=20_000)
    assert "ikke et tall" in ack["errors"]["budsjett"] and set(ack["errors"]) == {"erfaringer", "budsjett"}
    status, body = await submit(husbot, view, status="", erfaringer="Noe")
    assert json.loads(body)["errors"] == {"status": t("status_field_required", "nb")}
    await asyncio.sleep(0.3)
    assert husbot.bot.status.round.book.versions("Narvik", "2025-03") == []
    assert len(fake.called("chat.postMessage")) == 2          # the two prompts; no confirmation


async def test_someone_who_may_not_answer_for_the_pilot_is_told_so_in_the_modal(husbot, fake):
    view = await open_form(husbot, fake)
    status, body = await submit(husbot, view, user="USVERRE", status="Overskrevet?")
    ack = json.loads(body)
    assert ack["response_action"] == "update"
    assert t("status_not_allowed_pilot", "nb", pilot="Narvik") in texts_of(ack["view"])
    status, body = await husbot.interact({"type": "view_submission", "view": {
        "id": "V1", "type": "modal", "callback_id": STATUS_VIEW, "private_metadata": "nonsense",
        "state": {"values": {}}}})
    assert t("status_bad_form", "nb") in texts_of(json.loads(body)["view"])
    await asyncio.sleep(0.3)
    assert husbot.bot.status.round.book.versions("Narvik", "2025-03") == []


# -- reminders ----------------------------------------------------------------------------------------------------
async def test_reminders_reach_only_the_leader_who_has_not_answered(husbot, fake):
    view = await open_form(husbot, fake)
    await submit(husbot, view, status="I rute.")
    await fake.wait_for("chat.postMessage", 3)                 # two prompts and Narvik's confirmation
    assert await husbot.bot.schedule.run("status_reminders", datetime(2025, 3, 5, 9, tzinfo=OSLO)) == {}
    assert await husbot.bot.schedule.run("status_reminders", datetime(2025, 3, 6, 9, tzinfo=OSLO)) == {"sent": 1}
    reminder = fake.called("chat.postMessage")[-1]
    assert reminder["channel"] == "USTAD" and reminder["text"].startswith("Påminnelse Siri Leder:")
    assert [b["value"] for b in actions_of(reminder)] == ["Stad:2025-03"]
    await husbot.bot.schedule.run("status_reminders", datetime(2025, 3, 6, 15, tzinfo=OSLO))
    assert len(fake.called("chat.postMessage")) == 4 and dms(fake, "U1")[-1]["text"].startswith("Takk!")


# -- commands -----------------------------------------------------------------------------------------------------
async def test_the_overview_is_refused_to_a_member_and_shown_to_an_evaluator(husbot, fake):
    view = await open_form(husbot, fake)
    await submit(husbot, view, status="I rute.", erfaringer="Felles lunsj virker.")
    await fake.wait_for("chat.postMessage", 3)
    await husbot.command("status oversikt 2025-03", user="USVERRE")
    [refused] = await fake.wait_for("respond")
    assert refused["text"] == t("status_not_allowed", "nb") and "Narvik" not in texts_of(refused)
    await husbot.command("status oversikt 2025-03", user="UEVA")
    matrix = (await fake.wait_for("respond", 2))[1]
    shown = texts_of(matrix)
    assert "Månedsstatus mars 2025 (frist 2025-03-10): 1 svart, 0 for sent, 3 mangler" in shown
    assert ":white_check_mark: *Narvik*: svart – v1" in shown and ":x: *Stad*: mangler" in shown
    assert "Tomme felt: Aktiviteter, Antall arbeidsmøter, Økonomi: budsjett (kr)" in shown


async def test_status_svar_as_a_slash_command_opens_the_modal_and_in_a_dm_offers_the_button(husbot, fake):
    clock(husbot, 2025, 3, 5, 10)
    status, _ = await husbot.command("status svar")
    assert status == 200
    [opened] = await fake.wait_for("views.open")
    assert opened["trigger_id"] == "trigger-cmd" and json.loads(opened["view"]["private_metadata"])["channel"] == "C1"
    await asyncio.sleep(0.2)
    assert fake.called("respond") == []
    await husbot.dm("status svar")
    [posted] = await fake.wait_for("chat.postEphemeral")
    assert [(b["action_id"], b["value"]) for b in actions_of(posted)] == [("status_open:0", "Narvik:2025-03")]
    assert "Månedsstatus Narvik – mars 2025" in posted["blocks"][0]["text"]["text"]


# -- long values and long forms -----------------------------------------------------------------------------------
async def test_a_value_longer_than_a_slack_box_shows_its_start_and_submitting_keeps_the_rest(husbot, fake):
    clock(husbot, 2025, 3, 5, 10)
    long = " ".join(f"Setning {i} om erfaringer." for i in range(400))      # ~9 000 characters
    await husbot.bot.act(Turn("", platform="slack", user_id="U1"), "status_submit",
                         {"pilot": "Narvik", "month": "2025-03", "values": {"status": "A", "erfaringer": long}})
    await husbot.command("status svar")
    view = (await fake.wait_for("views.open"))[0]["view"]
    box = inputs(view)["erfaringer"]
    shown = box["element"]["initial_value"]
    assert len(shown) <= MAX_INPUT and long.startswith(shown)
    n = f"{len(shown):,} av {len(long):,}".replace(",", "\u00a0")
    assert f"Bare de første {n} tegnene vises her; resten beholdes uendret" in box["hint"]["text"]
    status, body = await submit(husbot, view, status="B", erfaringer=shown)
    assert body == ""
    await fake.wait_for("chat.postMessage")
    latest = husbot.bot.status.round.book.latest("Narvik", "2025-03")
    assert latest["version"] == 2 and latest["answers"]["erfaringer"] == long and latest["answers"]["status"] == "B"


async def test_a_form_too_long_for_one_modal_is_split_into_parts_and_saved_once(tmp_path, fake):
    fields = tmp_path / "fields.toml"
    fields.write_text("".join(f'[[field]]\nkey = "f{i:03d}"\nlabel = "Felt {i}"\nrequired = {str(i == 150).lower()}\n'
                              f'section = "Gruppe {i // 20}"\n' for i in range(160)), encoding="utf-8")
    _, knowledge, app = await start_husbot(tmp_path, fake, indexed=False, status_fields_file=str(fields))
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        husbot = Husbot(server, fake)
        husbot.bot.roster.import_csv(PEOPLE)
        clock(husbot, 2025, 3, 5, 10)
        form = (await husbot.bot.act(Turn("", platform="slack", user_id="U1"), "status_open",
                                     "Narvik:2025-03")).data["form"]
        parts = pages(form)
        assert len(parts) == 2 and sum(map(len, parts)) == 160
        assert all(len(form_view(form, {}, n)["blocks"]) <= MAX_MODAL_BLOCKS for n in range(2))
        assert parts[0][-1]["section"] != parts[1][0]["section"]            # sections stay whole
        await husbot.command("status svar")
        first = (await fake.wait_for("views.open"))[0]["view"]
        assert first["submit"]["text"] == "Neste" and "Del 1 av 2" in texts_of(first)
        status, body = await submit(husbot, first, f000="Første del.")
        ack = json.loads(body)
        assert ack["response_action"] == "update" and "Del 2 av 2" in texts_of(ack["view"])
        second = ack["view"]
        assert second["submit"]["text"] == "Send inn" and "f150" in inputs(second)
        status, body = await submit(husbot, second, f150="")
        assert json.loads(body)["errors"] == {"f150": t("status_field_required", "nb")}
        status, body = await submit(husbot, second, f150="Andre del.")
        assert body == ""
        await fake.wait_for("chat.postMessage")
        [version] = husbot.bot.status.round.book.versions("Narvik", "2025-03")
        assert version["answers"] == {"f000": "Første del.", "f150": "Andre del."}
    finally:
        await asyncio.sleep(0.05)
        await server.close()
        knowledge.close()

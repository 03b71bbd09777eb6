"""The monthly status round on Teams over real HTTP: the scheduled prompt reaches a leader's personal chat as a card
that carries the form, «Send inn» (an adaptiveCard/action invoke) stores the answer and replaces the card with a
confirmation, an evaluator's question cites it, a form with a 50 KB box comes back with the error and the typed
text, reminders reach only the leader who has not answered, and «status oversikt» is the evaluators' matrix card."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from test_teams import KARI, KARI_AAD, TENANT, fake, husbot, texts, verb_button  # noqa: F401

from adapters.teams import to_card
from adapters.teams.status_cards import FIELD
from bot import Reply, t

OSLO = ZoneInfo("Europe/Oslo")
LISE_AAD = "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d"
LISE = {"id": "29:1lise-teams-id", "name": "Lise Leder", "aadObjectId": LISE_AAD}
STIAN_AAD = "7b8c9d0e-1f2a-4b3c-9d4e-5f6a7b8c9d0e"
STIAN = {"id": "29:1stian-teams-id", "name": "Stian Leder", "aadObjectId": STIAN_AAD}
EVA_AAD = "8c9d0e1f-2a3b-4c4d-8e5f-6a7b8c9d0e1f"
EVA = {"id": "29:1eva-teams-id", "name": "Eva Evaluator", "aadObjectId": EVA_AAD}
ROSTER = ("pilot,name,role,email,slack_user_id,teams_aad_id\n"
          f"Narvik,Lise Leder,leader,lise.leder@narvik.kommune.no,,{LISE_AAD}\n"
          f"Stad,Stian Leder,leader,stian.leder@stad.kommune.no,,{STIAN_AAD}\n"
          f"Narvik,Kari Nordmann,member,kari.nordmann@narvik.kommune.no,,{KARI_AAD}\n"
          f",Eva Evaluator,evaluator,eva@evaluering.no,,{EVA_AAD}\n")
ECONOMY = "Forbruket ligger over budsjettet fordi husleien i Sentrumsgården økte."


def at(*args) -> datetime:
    return datetime(*args, tzinfo=OSLO)


def chat(who: dict) -> dict:
    return {"conversationType": "personal", "tenantId": TENANT, "id": f"a:1personal-chat-with-{who['id'][4:]}"}


def from_(h, who: dict, type_: str, **fields) -> dict:
    return {**h.activity(type_, chat(who), **fields), "from": who}


async def install(h, who: dict) -> None:
    """The person installs husbot personally: their chat is stored, nothing is posted."""
    status, _ = await h.post(from_(h, who, "installationUpdate", action="add"))
    assert status == 200


async def say(h, who: dict, text: str) -> dict:
    """A message in the person's personal chat; returns the card the fake connector received."""
    before = len(h.fake.cards())
    status, _ = await h.post(from_(h, who, "message", text=text, textFormat="plain"))
    assert status == 200
    await h.fake.wait_for(before + 1)
    return h.fake.cards()[before]


async def press(h, who: dict, verb: str, data: dict) -> dict:
    """An Action.Execute press in the person's chat; returns the card that replaces the pressed one."""
    invoke = from_(h, who, "invoke", name="adaptiveCard/action",
                   value={"action": {"type": "Action.Execute", "id": "btn", "verb": verb, "data": data},
                          "trigger": "manual"})
    status, body = await h.post(invoke)
    assert status == 200 and body["statusCode"] == 200, body
    return body["value"]


def clock(h, when: datetime) -> None:
    h.bot.status.round.now = lambda: when


def inputs(card: dict) -> dict[str, dict]:
    return {i["id"]: i for i in card["body"] if i["type"].startswith("Input.")}


def submit_data(card: dict, **typed: str) -> dict:
    """What Teams sends for «Send inn»: the button's data plus every box's value under its id."""
    [button] = [a for a in card["actions"] if a["verb"] == "status_submit"]
    values = {i: str(box.get("value", "")) for i, box in inputs(card).items()}
    return {**button["data"], **values, **{FIELD + k: v for k, v in typed.items()}}


def check_card(card: dict) -> None:
    """What Teams needs of a card (there is no vendored Adaptive Card schema): version 1.5, unique input ids with
    labels, universal actions with a verb."""
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.5"
    ids = [i["id"] for i in card["body"] if i["type"].startswith("Input.")]
    assert len(ids) == len(set(ids)) and all(i.get("label") for i in inputs(card).values())
    assert all(a["type"] == "Action.Execute" and a["verb"] for a in card.get("actions", []))


@pytest.fixture
async def round_open(husbot):
    """The roster, the leaders' and the evaluator's chats stored, and the scheduled March round opened."""
    husbot.bot.roster.import_csv(ROSTER)
    for who in (LISE, STIAN, EVA):
        await install(husbot, who)
    assert await husbot.bot.schedule.run("status_round", at(2025, 3, 3, 8, 45)) == {"skipped": "not yet"}
    counts = await husbot.bot.schedule.run("status_round", at(2025, 3, 3, 9, 0))
    assert counts == {"sent": 2, "no_leader": 2}                          # Narvik and Stad; Orkland, Lyngdal none
    clock(husbot, at(2025, 3, 5, 10))
    return husbot


def prompt_to(h, who: dict) -> dict:
    [message] = [m for m in h.fake.sent("message") if m["_conversation"] == chat(who)["id"]]
    return message


# -- the prompt carries the form -------------------------------------------------------------------------------------
async def test_the_scheduled_round_sends_each_leader_a_card_with_the_form(round_open):
    h = round_open
    message = prompt_to(h, LISE)
    assert message["_reply_to"] is None                                   # a new message, not a reply
    card = message["attachments"][0]["content"]
    check_card(card)
    lines = texts(card)
    assert lines[0].startswith("Hei Lise Leder! Det er tid for månedsstatus for Narvik (mars 2025)")
    assert "Månedsstatus Narvik – mars 2025" in lines and any("Frist 2025-03-10" in ln for ln in lines)
    boxes = inputs(card)
    status = boxes[FIELD + "status"]
    assert (status["type"], status["label"], status["isMultiline"], status["isRequired"], status["maxLength"]) == \
        ("Input.Text", "Status og resultatoppnåelse per delprosjekt", True, True, 20000)
    assert status["errorMessage"] == t("status_field_required")
    assert boxes[FIELD + "budsjett"]["type"] == "Input.Number" and "value" not in boxes[FIELD + "budsjett"]
    yesno = boxes[FIELD + "endringer_godkjent"]
    assert yesno["type"] == "Input.ChoiceSet" and [c["value"] for c in yesno["choices"]] == ["ja", "nei"]
    assert "Økonomi" in lines                                             # the section's heading
    [submit] = card["actions"]
    assert (submit["title"], submit["verb"], submit["data"]) == \
        ("Send inn", "status_submit", {"value": "", "pilot": "Narvik", "month": "2025-03", "lang": "nb", "keep": []})
    stad = prompt_to(h, STIAN)["attachments"][0]["content"]
    assert verb_button(stad, "status_submit")["data"]["pilot"] == "Stad"
    [eva] = [m for m in h.fake.sent("message") if m["_conversation"] == chat(EVA)["id"]] or [None]
    assert eva is None                                                    # evaluators are not prompted
    recorded = h.bot.outbox.sent("status_prompt")
    assert {(r["platform"], r["status"], r["recipient"]) for r in recorded} == \
        {("teams", "sent", "Lise Leder"), ("teams", "sent", "Stian Leder")}
    # the next run of the job sends nothing again
    assert (await h.bot.schedule.run("status_round", at(2025, 3, 3, 9, 15))).get("sent", 0) == 0
    assert len(h.fake.sent("message")) == 2


async def test_a_submitted_card_is_stored_confirmed_and_cited_to_an_evaluator(round_open):
    h = round_open
    card = prompt_to(h, LISE)["attachments"][0]["content"]
    data = submit_data(card, status="Delprosjektet om rekruttering har lyst ut to stillinger.",
                       budsjett="1200000", forbrukt="950000", okonomi=ECONOMY, endringer_godkjent="ja")
    before = len(h.fake.sent())
    saved = await press(h, LISE, "status_submit", data)
    check_card(saved)
    assert texts(saved) == [t("status_saved", pilot="Narvik", month="mars 2025", version=1)]
    assert saved["body"][0]["color"] == "Good"
    assert verb_button(saved, "status_open")["data"] == {"value": "Narvik:2025-03"}     # edit until the deadline
    assert len(h.fake.sent()) == before                                   # answered in the invoke response only
    stored = h.bot.status.round.book.latest("Narvik", "2025-03")
    assert stored["answers"] == {"status": "Delprosjektet om rekruttering har lyst ut to stillinger.",
                                 "budsjett": "1200000", "forbrukt": "950000", "okonomi": ECONOMY,
                                 "endringer_godkjent": "ja"}
    assert (stored["platform"], stored["submitted_by"], stored["late"]) == ("teams", "Lise Leder", False)

    # «Endre svaret» opens the form again, prefilled from this month's answer
    form = await press(h, LISE, "status_open", {"value": "Narvik:2025-03"})
    boxes = inputs(form)
    assert boxes[FIELD + "okonomi"]["value"] == ECONOMY and boxes[FIELD + "budsjett"]["value"] == 1200000
    assert boxes[FIELD + "endringer_godkjent"]["value"] == "ja"
    assert t("status_form_title", pilot="Narvik", month="mars 2025") in texts(form)

    answer = await say(h, EVA, "Hva rapporterte Narvik om økonomi i mars 2025?")
    lines = texts(answer)
    assert any("Økonomi: budsjett (kr): 1200000" in ln and "[1]" in ln for ln in lines), lines
    assert "[1] **Månedsstatus Narvik mars 2025** (status-narvik-2025-03) – Økonomi" in lines
    # another pilot's leader does not see Narvik's answer
    other = texts(await say(h, STIAN, "Hva rapporterte Narvik om økonomi i mars 2025?"))
    assert not any("status-narvik" in ln for ln in other)


async def test_a_50_kb_box_brings_the_form_back_with_the_error_and_the_typed_text(round_open):
    h = round_open
    card = prompt_to(h, LISE)["attachments"][0]["content"]
    data = submit_data(card, status="Rekrutteringen går bra.", erfaringer="ø" * 50_000, budsjett="mye",
                       veien_videre="Vi starter med felles lunsj i april.")
    again = await press(h, LISE, "status_submit", data)
    check_card(again)
    lines = texts(again)
    assert lines[0] == t("status_invalid", n=2)
    boxes = inputs(again)
    assert boxes[FIELD + "status"]["value"] == "Rekrutteringen går bra."
    assert boxes[FIELD + "veien_videre"]["value"] == "Vi starter med felles lunsj i april."
    # the error stands right under its box (after its hint line)
    ids = [b.get("id") or b.get("text") for b in again["body"]]
    too_long = t("status_field_too_long", n=50_000, max=20_000)
    assert too_long in ids and ids.index(too_long) - ids.index(FIELD + "erfaringer") in (1, 2)
    assert boxes[FIELD + "erfaringer"]["value"].startswith("øøø")          # the text is still there to shorten
    assert len(str(again)) < 28_000                                       # Teams' card size limit
    # a number box with text that is not a number shows it as text, with its error
    assert boxes[FIELD + "budsjett"]["type"] == "Input.Text" and boxes[FIELD + "budsjett"]["value"] == "mye"
    assert any("ikke et tall" in ln for ln in lines)
    assert h.bot.status.round.book.versions("Narvik", "2025-03") == []    # nothing stored
    # fixed and sent again from the returned card: stored
    fixed = submit_data(again, erfaringer="Felles lunsj virker.", budsjett="1 200 000")
    assert texts(await press(h, LISE, "status_submit", fixed))[0].startswith("Takk!")
    assert h.bot.status.round.book.latest("Narvik", "2025-03")["answers"]["veien_videre"] == \
        "Vi starter med felles lunsj i april."


async def test_reminders_reach_only_the_leader_who_has_not_answered(round_open):
    h = round_open
    card = prompt_to(h, LISE)["attachments"][0]["content"]
    await press(h, LISE, "status_submit", submit_data(card, status="I rute."))
    before = len(h.fake.sent("message"))
    assert await h.bot.schedule.run("status_reminders", at(2025, 3, 5, 9)) == {}          # not a reminder day
    assert await h.bot.schedule.run("status_reminders", at(2025, 3, 6, 9)) == {"sent": 1}
    [reminder] = h.fake.sent("message")[before:]
    assert reminder["_conversation"] == chat(STIAN)["id"]
    card = reminder["attachments"][0]["content"]
    assert texts(card)[0].startswith("Påminnelse Stian Leder")
    assert verb_button(card, "status_submit")["data"]["pilot"] == "Stad"   # the reminder carries the form too
    assert (await h.bot.schedule.run("status_reminders", at(2025, 3, 6, 14))) == {"already": 1}
    assert len(h.fake.sent("message")) == before + 1
    [row] = h.bot.outbox.sent("status_reminder")
    assert (row["platform"], row["status"], row["recipient"]) == ("teams", "sent", "Stian Leder")


async def test_the_overview_is_refused_to_a_member_and_a_matrix_card_for_the_evaluator(round_open):
    h = round_open
    card = prompt_to(h, LISE)["attachments"][0]["content"]
    await press(h, LISE, "status_submit", submit_data(card, status="I rute.", okonomi=ECONOMY))
    refused = await say(h, KARI, "status oversikt 2025-03")
    assert texts(refused) == [t("status_not_allowed")]
    matrix = await say(h, EVA, "status oversikt 2025-03")
    check_card(matrix)
    assert texts(matrix)[0] == t("status_overview_head", month="mars 2025", deadline="2025-03-10", answered=1,
                                 late=0, missing=3)
    [table] = [b for b in matrix["body"] if b["type"] == "Table"]
    rows = [[c["items"][0]["text"] for c in r["cells"]] for r in table["rows"]]
    assert rows[0] == ["Pilot", "Status", "Innsendt", "Tomme felt", "Uendret"]
    by_pilot = {r[0]: r for r in rows[1:]}
    assert [by_pilot[p][1] for p in ("Stad", "Orkland", "Narvik", "Lyngdal")] == \
        ["mangler", "mangler", "svart", "mangler"]
    assert by_pilot["Narvik"][2].startswith("v1 · Lise Leder · 2025-03-05 09:00")
    assert "Økonomi: budsjett (kr)" in by_pilot["Narvik"][3] and "Økonomi: kommentar" not in by_pilot["Narvik"][3]


async def test_the_status_command_opens_the_form_in_chat_for_a_member_of_the_pilot(round_open):
    form = await say(round_open, KARI, "status svar")
    check_card(form)
    assert verb_button(form, "status_submit")["data"]["pilot"] == "Narvik"
    assert FIELD + "status" in inputs(form)


# -- drawing without the server ------------------------------------------------------------------------------------
def test_a_prompt_without_its_form_keeps_the_button_and_a_long_prefill_is_kept_not_cut():
    from bot import Action
    prompt = Reply("status_prompt", "Hei! Det er tid for månedsstatus.",
                   actions=[Action("status_open", "Fyll ut status", "Narvik:2025-03")],
                   data={"pilot": "Narvik", "month": "2025-03", "deadline": "2025-03-10", "reminder": False})
    card = to_card(prompt)
    assert verb_button(card, "status_open")["data"] == {"value": "Narvik:2025-03"}

    fields = [{"key": k, "label": k.title(), "help": "", "kind": "text", "required": False, "section": k.title(),
               "max_chars": 20000, "value": v, "previous": v, "source": "last_month", "changed": False}
              for k, v in (("lang", "x" * 15000), ("kort", "kort tekst"))]
    form = {"pilot": "Narvik", "month": "2025-03", "month_label": "mars 2025", "deadline": "2025-03-10",
            "late": False, "lang": "nb", "version": 0, "prefilled_from": "2025-02", "title": "Månedsstatus",
            "intro": "Frist.", "submit": "Send inn", "tasks_label": "Oppgaver:", "fields": fields,
            "tasks": [{"id": 3, "text": "sender husleieavtalen", "owner": "Kari", "due": "2025-03-07",
                       "minutes": "arbeidsmøte 2025-02-20"}]}
    card = to_card(Reply("status_prompt", "Hei!", data={"form": form}))
    check_card(card)
    boxes = inputs(card)
    assert boxes[FIELD + "lang"]["value"] == "" and boxes[FIELD + "kort"]["value"] == "kort tekst"
    assert verb_button(card, "status_submit")["data"]["keep"] == ["lang"]
    assert any("15000 tegn" in ln and "beholdes" in ln for ln in texts(card))
    assert "#3 sender husleieavtalen – Kari – 2025-03-07 (arbeidsmøte 2025-02-20)" in texts(card)
    assert "Forhåndsutfylt fra februar 2025." in texts(card)

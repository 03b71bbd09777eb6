"""Meeting minutes on Slack: capture a channel and its threads, the draft with «Godta»/«Rediger», the edit modal,
accept, a cited answer afterwards, due-date reminders in DMs, and the bad input Slack can send."""
from __future__ import annotations

import asyncio
import json
from datetime import date, datetime

import pytest
from aiohttp.test_utils import TestServer
from fake_slack import BOT_ID, BOT_USER_ID
from slack_support import Husbot, actions_of, fake, start_husbot, texts_of  # noqa: F401 (fixtures)

from adapters.slack import to_blocks
from adapters.slack.handlers import MINUTES_VIEW
from adapters.slack.translate import MAX_HEADER, MAX_INPUT, fit_lines, minutes_form_view
from bot import Reply, t
from bot.minutes import Minutes

MEETING = "1700000100.000100"     # the first message of the meeting; replies to it form a thread
DRAFT_TS = "1700000200.000100"    # the ts Slack gives the draft husbot posts through the response_url
TODAY = date.today().isoformat()


@pytest.fixture
async def husbot(tmp_path, fake):
    # why the low threshold: confidence is calibrated for e5 similarities, not for the fake embedder's
    _, knowledge, app = await start_husbot(tmp_path, fake, min_confidence=0.01)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    yield Husbot(server, fake)
    await asyncio.sleep(0.05)
    await server.close()
    knowledge.close()


async def say(husbot: Husbot, text: str, *, ts: str, thread_ts: str | None = None, user: str = "U2", **event):
    """A message in channel C1 that does not mention husbot."""
    body = {"type": "message", "channel_type": "channel", "channel": "C1", "user": user, "text": text, "ts": ts,
            **({"thread_ts": thread_ts} if thread_ts else {}), **event}
    status, _ = await husbot.event(body)
    assert status == 200


async def settle(fake, n_calls: int, wait: float = 0.4) -> None:
    """Wait for lazy listeners, then check no new Slack call was made beyond the `n_calls` expected."""
    await asyncio.sleep(wait)
    assert len([c for c in fake.calls if c[0] != "users.info"]) == n_calls, fake.calls


def minutes_of(husbot: Husbot, minutes_id: int = 1) -> dict:
    return Minutes(husbot.bot.knowledge.store.db).get(minutes_id)


def button(post: dict, kind: str) -> dict:
    return next(b for b in actions_of(post) if b["action_id"].startswith(kind + ":"))


async def run_meeting(husbot: Husbot, fake) -> dict:
    """`/husbot referat start`, a short meeting in the channel and a thread, `/husbot referat stopp`: the draft."""
    await husbot.command("referat start styringsgruppe Budsjett")
    [started] = await fake.wait_for("respond")
    assert started["text"] == t("minutes_started", "nb", id=1, type="styringsgruppe", title=": Budsjett")
    await say(husbot, "Vedtak: Budsjettet for 2025 godkjennes med en ramme på to millioner.", ts=MEETING)
    await say(husbot, "Ola Nordmann sender budsjettet til departementet innen 15. mars.", ts="1700000101.000100",
              thread_ts=MEETING, user="U3")
    await say(husbot, "Hvem kontakter Husbanken om lånet?", ts="1700000102.000100")
    await settle(fake, 2)   # auth.test and the confirmation: nothing answered
    assert minutes_of(husbot)["n_messages"] == 3
    await husbot.command("referat stopp")
    return {**(await fake.wait_for("respond", 2))[1], "_ts": DRAFT_TS}


async def submit(husbot: Husbot, view: dict, **values) -> tuple[int, str]:
    state = {k: {k: {"type": "plain_text_input", "value": v}} for k, v in values.items()}
    return await husbot.interact({"type": "view_submission", "trigger_id": "trigger-2",
                                  "view": {**view, "id": "V1", "state": {"values": state}}})


# -- capture ------------------------------------------------------------------------------------------------------
async def test_channel_messages_and_thread_replies_are_collected_not_answered(husbot, fake):
    draft = await run_meeting(husbot, fake)
    assert draft["response_type"] == "in_channel"
    shown = texts_of(draft)
    assert "Budsjettet for 2025 godkjennes med en ramme på to millioner" in shown
    assert "sender budsjettet til departementet – ansvar: Ola Nordmann – frist: " in shown
    assert "Hvem kontakter Husbanken om lånet?" in shown
    assert draft["blocks"][0]["type"] == "header"
    assert draft["blocks"][0]["text"]["text"].startswith("Utkast til referat #1 (versjon 1): Styringsgruppe ")
    assert [b["text"]["text"] for b in actions_of(draft)] == ["Godta", "Rediger"]
    rec = minutes_of(husbot)
    assert rec["content"]["actions"][0]["owner"] == "Ola Nordmann" and rec["content"]["actions"][0]["due"]
    assert rec["participants"] == ["Kari"]      # the fake users.info calls everyone Kari


async def test_a_message_naming_husbot_is_collected_once_and_bots_and_edits_are_not(husbot, fake):
    await husbot.command("referat start arbeidsmøte")
    await fake.wait_for("respond")
    text = f"<@{BOT_USER_ID}> Vi ble enige om å dele møterommene."
    # Slack sends a message that names the bot twice: as `message` and as `app_mention`
    await say(husbot, text, ts=MEETING)
    await husbot.event({"type": "app_mention", "user": "U2", "text": text, "channel": "C1", "ts": MEETING})
    await say(husbot, "Takk for møtet", ts="1700000103.000100", user=BOT_USER_ID, bot_id=BOT_ID)
    await say(husbot, "Automatisk melding", ts="1700000104.000100", user="", subtype="bot_message", bot_id="BOTHER")
    await say(husbot, "", ts="1700000105.000100", subtype="message_changed")
    await say(husbot, "", ts="1700000106.000100", subtype="channel_join")
    await settle(fake, 2)
    assert [m["text"] for m in Minutes(husbot.bot.knowledge.store.db).messages(1)] == [
        "Vi ble enige om å dele møterommene."]


async def test_without_a_capture_channel_messages_are_ignored_and_stored_nowhere(husbot, fake):
    await say(husbot, "Vedtak: noe som ikke er et møte.", ts=MEETING)
    await settle(fake, 1)    # auth.test only
    assert Minutes(husbot.bot.knowledge.store.db).list() == []


# -- edit, accept, ask ----------------------------------------------------------------------------------------
async def test_draft_is_edited_in_a_modal_accepted_and_then_cited(husbot, fake):
    draft = await run_meeting(husbot, fake)

    await husbot.press(draft, button(draft, "minutes_edit"))
    [opened] = await fake.wait_for("views.open")
    view = opened["view"]
    assert opened["trigger_id"] == "trigger-1" and view["callback_id"] == MINUTES_VIEW
    assert view["title"]["text"] == "Rediger referat #1" and view["submit"]["text"] == "Lagre"
    boxes = {b["block_id"]: b["element"].get("initial_value") for b in view["blocks"] if b["type"] == "input"}
    due = minutes_of(husbot)["content"]["actions"][0]["due"]
    assert boxes == {"decisions": "Budsjettet for 2025 godkjennes med en ramme på to millioner",
                     "actions": f"sender budsjettet til departementet | Ola Nordmann | {due}",
                     "questions": "Hvem kontakter Husbanken om lånet?"}
    assert view["blocks"][0]["elements"][0]["text"] == t("minutes_form_hint", "nb").replace("<", "&lt;")
    assert json.loads(view["private_metadata"]) == {"channel": "C1", "thread_ts": DRAFT_TS, "id": 1, "lang": "nb"}
    assert all(b["element"]["max_length"] == MAX_INPUT for b in view["blocks"] if b["type"] == "input")
    assert not fake.called("chat.postMessage")   # the form opens; nothing is posted

    status, body = await submit(husbot, view, decisions=boxes["decisions"] + "\nNeste møte holdes i april",
                                actions=f"sender budsjettet til KDD | Kari Nordmann | {TODAY}", questions="")
    assert status == 200 and body == ""
    [edited] = await fake.wait_for("chat.postMessage")
    assert edited["channel"] == "C1" and edited["thread_ts"] == DRAFT_TS
    assert edited["blocks"][0]["text"]["text"].startswith("Utkast til referat #1 (versjon 2)")
    assert "Neste møte holdes i april" in texts_of(edited)
    assert f"sender budsjettet til KDD – ansvar: Kari Nordmann – frist: {TODAY}" in texts_of(edited)
    assert "Husbanken" not in texts_of(edited)

    await husbot.press(edited, button(edited, "minutes_accept"))
    accepted = (await fake.wait_for("chat.postMessage", 2))[1]
    assert accepted["text"] == t("minutes_accepted", "nb", id=1, n_decisions=2, n_actions=1)
    assert minutes_of(husbot)["status"] == "accepted"

    await husbot.mention("Hva ble vedtatt om budsjettet for 2025?", ts="1700000300.000100")
    answer = (await fake.wait_for("chat.postMessage", 3))[2]
    assert answer["thread_ts"] == "1700000300.000100"
    assert "godkjennes med en ramme på to millioner" in answer["text"]
    assert f"*Styringsgruppe {TODAY} – Budsjett*" in texts_of(answer)


async def test_accepted_minutes_are_neither_accepted_again_nor_opened_for_editing(husbot, fake):
    draft = await run_meeting(husbot, fake)
    await husbot.press(draft, button(draft, "minutes_accept"))
    await fake.wait_for("chat.postMessage")
    await husbot.press(draft, button(draft, "minutes_accept"))
    await husbot.press(draft, button(draft, "minutes_edit"))
    replies = await fake.wait_for("chat.postEphemeral", 2)
    assert [r["text"] for r in replies] == [t("minutes_not_draft", "nb", id=1)] * 2
    assert {r["user"] for r in replies} == {"U1"}
    assert fake.called("views.open") == []


async def test_a_box_too_long_for_slack_shows_its_first_lines_and_saving_keeps_the_rest(husbot, fake):
    decisions = [f"Vedtak: Punkt {n} om kontorfellesskapet " + "med mange ord " * 12 + "godkjennes." for n in range(40)]
    await husbot.command("referat importer styringsgruppe " + TODAY + "\n" + "\n".join(decisions))
    draft = {**(await fake.wait_for("respond"))[0], "_ts": DRAFT_TS}
    before = minutes_of(husbot)["content"]["decisions"]
    assert len(before) == 40
    await husbot.press(draft, button(draft, "minutes_edit"))
    [opened] = await fake.wait_for("views.open")
    box = next(b for b in opened["view"]["blocks"] if b.get("block_id") == "decisions")
    shown = box["element"]["initial_value"]
    n_shown = len(shown.split("\n"))
    assert len(shown) <= MAX_INPUT and 0 < n_shown < 40
    assert box["hint"]["text"] == t("minutes_form_cut", "nb", shown=n_shown, total=40)

    first, rest = shown.split("\n", 1)
    await submit(husbot, opened["view"], decisions="Endret første vedtak\n" + rest, actions="", questions="")
    await fake.wait_for("chat.postMessage")
    saved = minutes_of(husbot)["content"]["decisions"]
    assert saved == ["Endret første vedtak"] + before[1:]
    assert saved[-1].startswith("Punkt 39 om kontorfellesskapet")


# -- reminders --------------------------------------------------------------------------------------------------
async def test_due_date_reminder_goes_to_the_owner_in_a_direct_message_once(husbot, fake):
    husbot.bot.roster.import_csv("pilot,name,role,email,slack_user_id,teams_aad_id\n"
                                 ",Ola Nordmann,evaluator,ola@example.no,U0OLA12345,\n")
    await husbot.command(f"referat importer styringsgruppe {TODAY} Leie\n"
                         f"Vedtak: Kontorfellesskapet utvides.\nOla Nordmann sender leieavtalen innen {TODAY}.")
    await fake.wait_for("respond")
    await husbot.command("referat godta")
    [_, accepted] = await fake.wait_for("respond", 2)
    assert accepted["text"] == t("minutes_accepted", "nb", id=1, n_decisions=1, n_actions=1)

    assert await husbot.bot.minutes.remind_due(datetime.now()) == {"sent": 1}
    [dm] = await fake.wait_for("chat.postMessage")
    assert dm["channel"] == "U0OLA12345" and dm["_token"] == "Bearer xoxb-test"
    assert dm["text"].startswith("Påminnelse: oppgave #1 har frist i dag. sender leieavtalen")
    assert [b["text"]["text"] for b in actions_of(dm)] == [t("label_done", "nb")]

    assert await husbot.bot.minutes.remind_due(datetime.now()) == {"already": 1}
    await asyncio.sleep(0.2)
    assert len(fake.called("chat.postMessage")) == 1

    # the «Ferdig» button in the DM closes the action item
    await husbot.press({**dm, "thread_ts": None}, actions_of(dm)[0], channel="D0OLA")
    done = (await fake.wait_for("chat.postMessage", 2))[1]
    assert done["text"] == t("task_done", "nb", id=1, text="sender leieavtalen")


# -- bad input ----------------------------------------------------------------------------------------------------
async def test_stop_without_start_says_how_to_start(husbot, fake):
    await husbot.command("referat stopp")
    [reply] = await fake.wait_for("respond")
    assert reply["response_type"] == "ephemeral" and reply["text"] == t("minutes_none_open", "nb")


@pytest.mark.parametrize("view", [
    {"type": "modal", "callback_id": MINUTES_VIEW, "private_metadata": "{not json",
     "state": {"values": {"decisions": {"decisions": {"value": "x"}}}}},
    {"type": "modal", "callback_id": MINUTES_VIEW, "private_metadata": json.dumps({"id": 1, "channel": "C1"})},
    {"type": "modal", "callback_id": MINUTES_VIEW,
     "private_metadata": json.dumps({"id": "1; drop table", "channel": "C1"}),
     "state": {"values": {}}},
    {"type": "modal", "callback_id": MINUTES_VIEW, "private_metadata": json.dumps({"id": 1, "channel": "C1"}),
     "state": {"values": {"decisions": "not an object", "actions": None}}},
], ids=["broken-metadata", "no-state", "bad-id", "broken-state"])
async def test_a_broken_edit_form_is_told_so_in_the_modal_and_changes_nothing(husbot, fake, view):
    await run_meeting(husbot, fake)
    status, body = await husbot.interact({"type": "view_submission", "trigger_id": "t", "view": {**view, "id": "V1"}})
    assert status == 200
    answer = json.loads(body)
    assert answer["response_action"] == "update"
    assert answer["view"]["blocks"][0]["text"]["text"] == t("minutes_bad_form", "nb")
    await settle(fake, 3)   # auth.test, started, draft: nothing more
    assert minutes_of(husbot)["version"] == 1


async def test_an_edit_form_box_over_slacks_limit_is_marked_not_saved(husbot, fake):
    await run_meeting(husbot, fake)
    view = {"type": "modal", "callback_id": MINUTES_VIEW,
            "private_metadata": json.dumps({"id": 1, "channel": "C1", "lang": "nb"})}
    status, body = await submit(husbot, view, decisions="x" * (MAX_INPUT + 1), actions="", questions="")
    assert status == 200
    assert json.loads(body) == {"response_action": "errors", "errors": {
        "decisions": t("minutes_box_too_long", "nb", n=MAX_INPUT + 1, max=MAX_INPUT)}}
    await settle(fake, 3)
    assert minutes_of(husbot)["version"] == 1


async def test_saving_a_form_for_unknown_minutes_says_so(husbot, fake):
    view = {"type": "modal", "callback_id": MINUTES_VIEW,
            "private_metadata": json.dumps({"id": 99, "channel": "C1", "lang": "nb"})}
    status, body = await submit(husbot, view, decisions="a", actions="", questions="")
    assert status == 200 and body == ""
    [reply] = await fake.wait_for("chat.postEphemeral")
    assert reply["text"] == t("minutes_unknown", "nb", id=99) and reply["user"] == "U1"


# -- pieces -------------------------------------------------------------------------------------------------------
def test_fit_lines_keeps_whole_lines():
    assert fit_lines("abc\ndef\nghi", 7) == ("abc\ndef", 2, 3)
    assert fit_lines("", 7) == ("", 0, 0)
    assert fit_lines("x" * 10, 7) == ("", 0, 1)


def test_draft_blocks_stay_within_slack_limits():
    form = {"id": 7, "values": {"decisions": "a\n" * 2000, "actions": "", "questions": ""},
            "labels": {"decisions": "Vedtak", "actions": "Oppgaver", "questions": "Spørsmål"},
            "hint": "Ett punkt per linje.", "title": "Rediger referat #7 med en altfor lang tittel", "submit": "Lagre"}
    reply = Reply("minutes_draft", "Utkast " + "lang tittel " * 40 + "\nVedtak:\n" + "  1. <b> & co\n" * 400
                  + "\n\nIngenting er endelig.", data={"form": form})
    blocks = to_blocks(reply)
    assert blocks[0]["type"] == "header" and len(blocks[0]["text"]["text"]) <= MAX_HEADER
    assert "*Vedtak:*" in blocks[1]["text"]["text"] and "&lt;b&gt; &amp; co" in blocks[1]["text"]["text"]
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section")
    assert blocks[-1]["type"] == "context"
    view = minutes_form_view(reply, {"channel": "C1", "thread_ts": ""}, MINUTES_VIEW)
    assert len(view["title"]["text"]) <= 24
    assert all(len(b["element"].get("initial_value", "")) <= MAX_INPUT for b in view["blocks"] if b["type"] == "input")


# -- uploads: «referat importer» with the minutes attached ---------------------------------------------------------
def docx_bytes(*paragraphs: str) -> bytes:
    import io

    from docx import Document

    doc, out = Document(), io.BytesIO()
    for p in paragraphs:
        doc.add_paragraph(p)
    doc.save(out)
    return out.getvalue()


async def dm_with_file(husbot: Husbot, text: str, file: dict, ts: str = "1700000300.000100"):
    status, _ = await husbot.event({"type": "message", "subtype": "file_share", "channel_type": "im", "channel": "D2",
                                    "user": "U2", "text": text, "ts": ts, "files": [file]})
    assert status == 200


async def test_minutes_uploaded_as_docx_become_a_draft(husbot, fake):
    file = fake.share("styremote.docx", docx_bytes(
        "Referat fra styringsgruppen i Narvik", "Vedtak: Styringsgruppen godkjente budsjettet for Sentrumsgården.",
        "Ola Nordmann sender søknaden til KDD innen 2025-03-21."))
    await dm_with_file(husbot, "referat importer styringsgruppe 2025-03-04", file)
    [draft] = await fake.wait_for("chat.postMessage")
    assert draft["channel"] == "D2"
    assert "Styringsgruppen godkjente budsjettet for Sentrumsgården" in texts_of(draft)
    assert "ansvar: Ola Nordmann – frist: 2025-03-21" in texts_of(draft)
    [download] = fake.called("files.download")
    assert download["_token"] == "Bearer xoxb-test"
    rec = minutes_of(husbot)
    assert (rec["status"], rec["type"], rec["date"], rec["source"]) == ("draft", "styringsgruppe", "2025-03-04", "import")


@pytest.mark.parametrize("name, data, key", [
    ("styremote.docx", b"PK\x03\x04 not really a docx", "minutes_upload_unreadable"),
    ("styremote.pdf", b"%PDF-1.7 minutes", "minutes_upload_type"),
    ("tom.txt", b"", "minutes_upload_unreadable"),
])
async def test_an_upload_that_cannot_be_read_says_which_file_and_stores_nothing(husbot, fake, name, data, key):
    await dm_with_file(husbot, "referat importer", fake.share(name, data))
    [reply] = await fake.wait_for("chat.postEphemeral")     # only the person who sent it sees the refusal
    assert reply["text"] == t(key, "nb", name=name)
    assert Minutes(husbot.bot.knowledge.store.db).list() == [] and minutes_count(husbot) == 0


async def test_a_file_slack_will_not_hand_over_is_told_and_nothing_stored(husbot, fake):
    missing = {**fake.share("borte.docx", b""), "url_private_download": str(fake.server.make_url("/files/finnes-ikke"))}
    await dm_with_file(husbot, "referat importer", missing)
    [reply] = await fake.wait_for("chat.postEphemeral")
    assert reply["text"] == t("upload_failed", "nb", name="borte.docx")
    assert minutes_count(husbot) == 0


async def test_a_file_without_referat_importer_gets_a_hint(husbot, fake):
    await dm_with_file(husbot, "her er fila", fake.share("notat.txt", b"Vedtak: noe."))
    [reply] = await fake.wait_for("chat.postEphemeral")
    assert reply["text"] == t("upload_what", "nb")
    assert minutes_count(husbot) == 0 and not fake.called("files.download")


def minutes_count(husbot: Husbot) -> int:
    return husbot.bot.knowledge.store.db.execute("select count(*) from minutes").fetchone()[0]

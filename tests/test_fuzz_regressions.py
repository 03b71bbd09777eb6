"""The bugs the fuzz tests (tests/test_fuzz_*.py) found, each pinned by the smallest input that showed it."""
from __future__ import annotations

import asyncio
import json
import logging
import time
import zipfile
from urllib.parse import urlencode

import aiohttp
import pytest
from slack_support import fake, husbot  # noqa: F401 (fixtures)
from support import write_corpus, write_docx

from bot import Bot, Roster, Turn, t
from indexer import index_paths
from indexer.readers import MAX_DOCX_UNPACKED, read
from knowledge import UnreadableFile
from knowledge.check import check


@pytest.fixture
def bot(small_index):
    return Bot(small_index)


@pytest.mark.parametrize("value", ["x:²", "1:" + "9" * 5000])
async def test_show_source_with_a_number_int_cannot_read_says_there_is_no_such_source(bot, value):
    reply = await bot.act(Turn("", role="admin"), "show_source", value)
    assert reply.kind == "error" and reply.text == t("no_source_n", "nb", n=0)


@pytest.mark.parametrize("feedback_id", [424242, 2**70])
def test_a_reason_for_feedback_that_does_not_exist_says_so(bot, feedback_id):
    reply = bot.add_feedback_reason(feedback_id, "feil svar")
    assert reply.kind == "error" and reply.text == t("unknown_answer", "nb")


@pytest.mark.parametrize("feedback_id", ["²", "٣"])
def test_a_feedback_id_in_other_digits_is_refused_as_a_bad_request(feedback_id):
    from adapters.web.translate import BadRequest, feedback_id as read_id

    with pytest.raises(BadRequest):
        read_id({"feedback_id": feedback_id})


def test_husbot_roster_import_of_a_utf16_csv_says_to_save_it_as_utf8(tmp_path):
    from click.testing import CliRunner

    from adapters.cli.main import cli

    people = tmp_path / "people.csv"
    people.write_text("pilot,name,role,email,slack_user_id,teams_aad_id\nNarvik,Kari,member,kari@narvik.no,,\n",
                      encoding="utf-16")
    result = CliRunner().invoke(cli, ["--home", str(tmp_path / "home"), "roster", "import", str(people)])
    assert result.exit_code == 1 and result.exception is not None and isinstance(result.exception, SystemExit)
    assert "not UTF-8 text" in result.output and "Traceback" not in result.output


def _zip_bomb(path, unpacked_mb: int):
    """A DOCX whose word/document.xml unpacks to `unpacked_mb` MB of blanks (a few hundred KB on disk)."""
    seed = write_docx(path.with_suffix(".seed.docx"), [("Tittel", "Tekst")])
    chunk = b" " * 1024 ** 2
    with zipfile.ZipFile(seed) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != "word/document.xml":
                dst.writestr(info, src.read(info))
        with dst.open("word/document.xml", "w", force_zip64=True) as out:
            out.write(src.read("word/document.xml")[:-len(b"</w:document>")])
            for _ in range(unpacked_mb):
                out.write(chunk)
            out.write(b"</w:document>")
    return path


def test_a_zip_bomb_named_docx_is_refused_from_its_directory_without_unpacking(tmp_path, knowledge):
    bomb = _zip_bomb(tmp_path / "bombe.docx", MAX_DOCX_UNPACKED // 1024 ** 2 + 50)
    assert bomb.stat().st_size < 2 * 1024 ** 2

    started = time.perf_counter()
    with pytest.raises(UnreadableFile, match="refused as a possible zip bomb") as raised:
        read(bomb)
    assert time.perf_counter() - started < 1.0          # the directory was read, not the 250 MB
    assert "\n" not in str(raised.value)

    report = index_paths(knowledge, [bomb, write_corpus(tmp_path / "corpus")])
    assert len(report.errors) == 1 and "zip bomb" in report.errors[0] and len(report.indexed) == 3
    assert check(knowledge.settings.home).ok


@pytest.mark.parametrize("conversation", [{"id": {}}, {"id": 5}, {"id": None}, "a:1", None])
def test_a_teams_activity_whose_conversation_id_is_not_text_is_refused_as_malformed(conversation):
    from adapters.teams.endpoint import BadActivity, read_activity

    activity = {"type": "message", "id": "1", "serviceUrl": "http://127.0.0.1:9/", "channelId": "msteams",
                "from": {"id": "29:1kari"}, "conversation": conversation, "text": "hjelp"}
    with pytest.raises(BadActivity, match="no conversation"):
        read_activity(json.dumps(activity).encode())


async def test_referat_importer_with_a_date_that_does_not_exist_imports_a_draft(bot):
    turn = Turn("referat importer styringsgruppe 2025-02-30\nVedtak: Budsjettet godkjennes.", role="admin")
    reply = await bot.handle(turn)
    assert reply.kind == "minutes_draft", reply.text
    assert bot.minutes.book.get(int(reply.data["minutes"]["id"]))["date"] != "2025-02-30"


def test_a_roster_csv_with_a_field_over_the_csv_limit_is_refused_with_one_line(knowledge):
    from bot.roster import RosterError

    text = "pilot,name,role,email,slack_user_id,teams_aad_id\nNarvik,\"" + "x" * 200_000 + "\",member,k@n.no,,\n"
    with pytest.raises(RosterError, match="not readable as CSV") as raised:
        Roster(knowledge.store.db).import_csv(text)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("mention", [{"type": "mention", "text": 5, "mentioned": {"id": "28:husbot"}},
                                     {"type": "mention", "text": "<at>husbot</at>", "mentioned": "28:husbot"}])
def test_a_teams_mention_entity_with_wrong_types_is_ignored(mention):
    from adapters.teams.endpoint import read_activity
    from adapters.teams.translate import plain_text

    activity = read_activity(json.dumps({
        "type": "message", "id": "1", "serviceUrl": "http://127.0.0.1:9/", "channelId": "msteams",
        "from": {"id": "29:1kari"}, "recipient": {"id": "28:husbot"}, "conversation": {"id": "a:1"},
        "text": "<at>husbot</at> hjelp", "entities": [mention]}).encode())
    assert plain_text(activity).endswith("hjelp")


def test_a_teams_channel_message_with_wrong_typed_mention_or_channel_data_is_read():
    from adapters.teams.endpoint import read_activity
    from adapters.teams.translate import channel_of, is_addressed

    activity = read_activity(json.dumps({
        "type": "message", "id": "1", "serviceUrl": "http://127.0.0.1:9/", "channelId": "msteams",
        "from": {"id": "29:1kari"}, "recipient": {"id": "28:husbot"},
        "conversation": {"id": "19:c@thread.tacv2;messageid=1", "conversationType": "channel"},
        "channelData": {"channel": "19:c"}, "text": "<at>husbot</at> hjelp",
        "entities": [{"type": "mention", "text": "<at>husbot</at>", "mentioned": "28:husbot"}]}).encode())
    assert is_addressed(activity) is False
    assert channel_of(activity) == "19:c@thread.tacv2"


# -- Slack interactivity payloads of the wrong shape (#8) ------------------------------------------------------------
def _view(callback_id: str, meta, values: dict) -> dict:
    return {"type": "view_submission", "trigger_id": "trigger-2",
            "view": {"id": "V1", "type": "modal", "callback_id": callback_id,
                     "private_metadata": meta if not isinstance(meta, dict) else json.dumps(meta),
                     "state": {"values": values}}}


MALFORMED_SLACK = {
    "a view that is not an object": {"type": "view_submission", "view": None},
    "a user that is text": {**_view("feedback_reason", {"feedback_id": 1}, {}), "user": "U1"},
    "a button press without actions": {"type": "block_actions", "actions": [], "channel": {"id": "C1"}},
    "a button press whose channel id is a number": {"type": "block_actions", "channel": {"id": 5},
                                                    "actions": [{"action_id": "show_source:0", "value": "1:1"}]},
    "a user id of 300 characters": {"type": "block_actions", "user": {"id": "U" * 300},
                                    "actions": [{"action_id": "show_source:0", "value": "1:1"}]},
    "a view without its type": {"type": "view_submission", "view": {"id": "V1", "callback_id": "minutes_edit"}},
    "an event that is a list in another payload": {"type": "message_action", "event": []},
}


@pytest.mark.parametrize("case", sorted(MALFORMED_SLACK))
async def test_a_slack_interaction_of_the_wrong_shape_is_refused_with_400_before_any_listener(husbot, fake, caplog,
                                                                                             case):
    status, body = await husbot.interact(MALFORMED_SLACK[case])
    await asyncio.sleep(0.2)    # a lazy listener would have run by now
    assert status == 400, (status, body)
    assert json.loads(body)["error"].startswith("malformed Slack payload: ")
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert fake.posts == []


def test_the_guard_names_the_field_that_has_the_wrong_shape():
    from adapters.slack.guard import shape_problem

    assert shape_problem(MALFORMED_SLACK["a user that is text"]) == "user is not an object"
    assert shape_problem(MALFORMED_SLACK["a button press whose channel id is a number"]) == "user is missing"
    assert shape_problem({**MALFORMED_SLACK["a button press whose channel id is a number"], "user": {"id": "U1"}}) \
        == "channel.id is not text"
    assert shape_problem({"command": "/husbot", "text": "hjelp"}) == "response_url is missing"
    assert shape_problem({"command": "/husbot", "response_url": "null"}) == "response_url is not a web address"
    assert shape_problem({"type": "event_callback", "event": {"type": "team_join", "user": {"id": "U1"}}}) is None


GARBLED_FORMS = {
    "a reason form whose metadata is an object": {
        **_view("feedback_reason", {}, {"reason": {"reason": {"value": "feil"}}}),
        "view": {**_view("feedback_reason", {}, {})["view"], "private_metadata": {"feedback_id": 1},
                 "state": {"values": {"reason": {"reason": {"value": "feil"}}}}}},
    "a reason form whose box is text": _view("feedback_reason", {"feedback_id": 1, "channel": "C1"},
                                             {"reason": "feil"}),
    "a minutes form whose box holds a number": _view("minutes_edit", {"id": 1, "channel": "C1"},
                                                     {k: {k: {"type": "plain_text_input", "value": 5}}
                                                      for k in ("decisions", "actions", "questions")}),
    "a status form whose page is text": _view("status_form", {"pilot": "Narvik", "month": "2025-03", "page": "x"},
                                              {"budsjett": {"budsjett": {"value": "1"}}}),
}


@pytest.mark.parametrize("case", sorted(GARBLED_FORMS))
async def test_a_garbled_form_is_told_so_in_the_modal_or_ignored_never_a_crash(husbot, fake, caplog, case):
    status, body = await husbot.interact(GARBLED_FORMS[case])
    await asyncio.sleep(0.2)    # the lazy listener behind the acknowledgement has run
    assert status == 200, body
    if body:
        shown = json.dumps(json.loads(body), ensure_ascii=False)
        assert t("minutes_bad_form", "nb") in shown or t("status_bad_form", "nb") in shown
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert fake.posts == []


@pytest.mark.parametrize("event", [None, "app_mention", {"type": "app_mention", "text": 5}])
async def test_a_slack_event_of_the_wrong_shape_is_refused_before_bolts_own_authorization(husbot, fake, caplog,
                                                                                         event):
    status, body = await husbot.event(event)
    await asyncio.sleep(0.2)
    assert status == 400 and "malformed Slack payload" in body
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert fake.posts == []


async def test_a_slash_command_without_a_response_url_is_refused_not_crashed_behind_the_ack(husbot, fake, caplog):
    form = {"token": "x", "team_id": "T1", "channel_id": "C1", "user_id": "U1", "command": "/husbot", "text": "hjelp"}
    status, body = await husbot.post(urlencode(form), "application/x-www-form-urlencoded")
    await asyncio.sleep(0.2)
    assert status == 400 and "response_url is missing" in body
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


# -- Teams invokes that botbuilder refuses, and activity fields of the wrong type (#8) ------------------------------
@pytest.fixture
async def teams(tmp_path):
    from aiohttp.test_utils import TestServer
    from fake_connector import FakeConnector

    from adapters.server import build_app
    from knowledge import Knowledge, Settings
    from knowledge.embedder import HashingEmbedder

    connector = await FakeConnector().start()
    settings = Settings.load(environ={}, home=str(tmp_path / "home"), teams_allow_unauthenticated=True,
                             scheduler=False)
    knowledge = Knowledge(settings, embedder=HashingEmbedder())
    server = TestServer(build_app(settings, knowledge), host="127.0.0.1", port=0)
    await server.start_server()

    async def post(**fields) -> tuple[int, dict | str]:
        activity = {"type": "invoke", "id": "1", "serviceUrl": connector.url, "channelId": "msteams",
                    "from": {"id": "29:1kari"}, "recipient": {"id": "28:husbot"},
                    "conversation": {"id": "a:1kari", "conversationType": "personal"}, "name": "adaptiveCard/action",
                    **fields}
        async with aiohttp.ClientSession() as s:
            async with s.post(server.make_url("/api/messages"), json=activity) as r:
                text = await r.text()
                return r.status, (json.loads(text) if text.startswith("{") else text)

    post.connector = connector
    yield post
    await server.close()
    await connector.close()
    knowledge.close()


@pytest.mark.parametrize("value, code", [({"action": {"type": "Action.Submit", "verb": "show_source"}}, "NotSupported"),
                                         ({"trigger": "manual"}, "BadRequest"), (None, "BadRequest")])
async def test_an_invoke_botbuilder_refuses_gets_its_error_as_json(teams, value, code):
    status, body = await teams(value=value)
    assert status == 400, body
    assert body["statusCode"] == 400 and body["type"] == "application/vnd.microsoft.error"
    assert body["value"]["code"] == code and body["value"]["message"]


@pytest.mark.parametrize("fields, reason", [({"value": {"action": []}}, "the card action is not an object"),
                                            ({"type": "message", "text": "hjelp", "id": {}},
                                             "the activity's id is not a valid id"),
                                            ({"type": "message", "text": "hjelp", "id": ".."},
                                             "the activity's id is not a valid id"),
                                            ({"type": "message", "text": "hjelp", "from": {"id": "\x80" * 5000}},
                                             "the activity's from.id is not a valid id"),
                                            ({"type": "message", "text": "hjelp", "entities": [None]},
                                             "the activity's entities are not a list of objects"),
                                            ({"type": "message", "text": "hjelp",
                                              "conversation": {"id": "   ", "conversationType": "personal"}},
                                             "the activity has no conversation")])
async def test_a_teams_activity_with_wrong_typed_fields_is_refused_as_malformed(teams, fields, reason):
    status, body = await teams(**fields)
    assert status == 400 and body["error"] == f"malformed activity: {reason}"
    assert teams.connector.sent() == []


def test_a_conversation_reference_is_stored_when_channel_data_has_wrong_types(knowledge):
    from adapters.teams import References
    from adapters.teams.endpoint import read_activity

    activity = read_activity(json.dumps({
        "type": "conversationUpdate", "id": "1", "serviceUrl": "http://127.0.0.1:9/", "channelId": "msteams",
        "from": {"id": "29:1kari"}, "recipient": {"id": "28:husbot"}, "conversation": {"id": "a:1kari"},
        "channelData": {"tenant": 1, "team": "19:t"}}).encode())
    row = References(knowledge.store.db).remember(activity)
    assert row["tenant_id"] == "" and row["team_id"] == ""

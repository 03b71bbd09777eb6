"""The bugs the fuzz tests (tests/test_fuzz_*.py) found, each pinned by the smallest input that showed it."""
from __future__ import annotations

import pytest

from bot import Bot, Turn, t


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

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

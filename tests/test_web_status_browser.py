"""The status dashboard and the leader's form in a real headless Chromium, against the real server."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer

from adapters.server import BOT_KEY, build_app
from bot.status import links
from bot.tokens import Tokens
from knowledge import Knowledge, Settings
from knowledge.embedder import HashingEmbedder
from test_web_browser import CHROMIUM, browser  # noqa: F401 (the module-scoped browser fixture)

OSLO = ZoneInfo("Europe/Oslo")
NOW = datetime(2025, 5, 6, 10, 0, tzinfo=OSLO)
PEOPLE = """pilot,name,role,email,slack_user_id,teams_aad_id
Narvik,Nora Leder,leader,nora@narvik.no,UNARVIK,
Stad,Siri Leder,leader,siri@stad.no,USTAD,
"""

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary found; install it with "
                       "`apt-get install -y --no-install-recommends chromium chromium-driver` (.ci/run does)"),
    pytest.mark.asyncio(loop_scope="module"),
]

if CHROMIUM:
    from playwright.async_api import expect


@pytest_asyncio.fixture(loop_scope="module")
async def server(tmp_path):
    k = Knowledge(Settings.load(environ={}, home=str(tmp_path / "home")), embedder=HashingEmbedder())
    app = build_app(k.settings, k)
    bot = app[BOT_KEY]
    bot.roster.import_csv(PEOPLE)
    bot.status.round.now = lambda: NOW
    round_ = bot.status.round
    round_.submit("Narvik", "2025-04", {"status": "April.", "budsjett": "1 000 000", "forbrukt": "200 000"}, by="Nora")
    round_.submit("Stad", "2025-04", {"status": "April på Stad.", "budsjett": "800 000"}, by="Siri")
    round_.submit("Narvik", "2025-05", {"status": "Mai.", "budsjett": "1 000 000", "forbrukt": "350 000",
                                        "prognose": "950 000"}, by="Nora")
    async with TestServer(app, host="127.0.0.1") as s:
        yield s
    k.close()


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser):
    context = await browser.new_context(locale="nb-NO")
    page = await context.new_page()
    page.problems = []
    # a blocked stylesheet or a CSP violation shows up here
    page.on("console", lambda m: m.type == "error" and "status of 422" not in m.text and page.problems.append(m.text))
    yield page
    await context.close()


async def test_evaluator_logs_in_and_sees_the_matrix_and_the_charts(page, server):
    _, token = Tokens(server.app[BOT_KEY].knowledge.store.db).create("evaluator", "Eva")
    await page.goto(str(server.make_url("/status?month=2025-05")))
    await page.fill("#token", token)
    await page.get_by_role("button", name="Logg inn").click()
    await expect(page.locator("table.matrix")).to_be_visible()
    await expect(page.locator("table.matrix tbody th")).to_have_text(["Stad", "Orkland", "Narvik", "Lyngdal"])
    await expect(page.locator("tr.pilot-narvik td.state")).to_have_text("svart")
    await expect(page.locator("tr.pilot-stad td.state")).to_have_text("mangler")
    await page.select_option("#month", "2025-05")
    await page.get_by_role("button", name="Vis").click()
    chart = page.locator("svg.chart-ontime")
    await expect(chart).to_be_visible()
    box = await chart.bounding_box()
    assert box["width"] > 300 and box["height"] > 100
    # Narvik's May answer on time; both April answers came in May, after April's deadline
    assert await chart.locator("rect.s-answered").count() == 1 and await chart.locator("rect.s-late").count() == 2
    # the bars are drawn in the stylesheet's colours (it loaded under the page's CSP)
    fill = await chart.locator("rect.s-answered").first.evaluate("r => getComputedStyle(r).fill")
    assert fill == "rgb(46, 125, 79)"
    budget = page.locator("svg.chart-budget")
    await expect(budget.locator("rect.b-spent")).to_have_count(1)
    await expect(budget.locator("path.b-forecast")).to_have_count(1)
    await expect(page.locator("svg.chart-fields rect.f-filled").first).to_be_visible()
    await page.get_by_role("link", name="Narvik").click()
    await expect(page.locator("details.version summary").first).to_contain_text("Versjon 1 – Nora")
    assert page.problems == []


async def test_leader_fills_in_and_submits_the_form(page, server):
    bot = server.app[BOT_KEY]
    nora = next(p for p in bot.roster.people() if p["email"] == "nora@narvik.no")
    token = links.make_token(links.key(bot.knowledge.settings.home), "Narvik", "2025-05", nora["id"],
                             "nora@narvik.no", links.expiry("2025-05-09", "Europe/Oslo"))
    await page.goto(str(server.make_url("/status/form").with_query(t=token)))
    await expect(page.locator("h1")).to_have_text("Månedsstatus Narvik – mai 2025")
    await expect(page.locator("#v-status")).to_have_value("Mai.")
    await page.fill("#v-forbrukt", "400 tusen")
    await page.fill("#v-status", "Mai: to nye etater flyttet inn.")
    await page.get_by_role("button", name="Send inn").click()
    await expect(page.locator("#e-forbrukt")).to_contain_text("er ikke et tall")
    await expect(page.locator("#v-status")).to_have_value("Mai: to nye etater flyttet inn.")
    await page.fill("#v-forbrukt", "400 000")
    await page.get_by_role("button", name="Send inn").click()
    await expect(page.locator(".notice.saved")).to_contain_text("er lagret (versjon 2)")
    latest = bot.status.round.book.latest("Narvik", "2025-05")
    assert latest["version"] == 2 and latest["answers"]["forbrukt"] == "400000"
    assert latest["answers"]["status"] == "Mai: to nye etater flyttet inn."
    assert page.problems == []

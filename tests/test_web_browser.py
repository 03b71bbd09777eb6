"""The web chat page in a real headless Chromium, against the real server: what a user sees and clicks."""
from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer

from adapters.server import BOT_KEY, build_app
from indexer import index_paths
from knowledge import Knowledge, Settings
from knowledge.embedder import HashingEmbedder
from support import write_corpus


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "chromium-headless-shell"):
        if shutil.which(name):
            return shutil.which(name)
    shell = Path("/usr/lib/chromium/chromium-headless-shell")
    return str(shell) if shell.exists() else None


CHROMIUM = find_chromium()
# why no network flags: nothing may be fetched at run time (no CDN, no component updates)
ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary found; install it with "
                       "`apt-get install -y --no-install-recommends chromium chromium-driver` (.ci/run does)"),
    # one browser for the module, so every test and fixture here runs on the module's event loop
    pytest.mark.asyncio(loop_scope="module"),
]

if CHROMIUM:
    from playwright.async_api import async_playwright, expect


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser():
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        await b.close()


@pytest.fixture(scope="module")
def indexed_home(tmp_path_factory) -> Path:
    """The three small one-pilot reports (Stad, Orkland, Narvik), indexed once with the hashing embedder."""
    tmp = tmp_path_factory.mktemp("browser")
    k = Knowledge(Settings.load(environ={}, home=str(tmp / "home")), embedder=HashingEmbedder())
    assert len(index_paths(k, [write_corpus(tmp / "corpus")]).indexed) == 3
    k.close()
    return tmp / "home"


@pytest_asyncio.fixture(loop_scope="module")
async def server(indexed_home, tmp_path):
    """`husbot serve`'s application on 127.0.0.1 (a free port), over a private copy of the index."""
    k = Knowledge(Settings.load(environ={}, home=str(shutil.copytree(indexed_home, tmp_path / "home"))),
                  embedder=HashingEmbedder())
    async with TestServer(build_app(k.settings, k), host="127.0.0.1") as s:
        yield s
    k.close()


async def open_chat(browser, server, locale="nb-NO"):
    context = await browser.new_context(locale=locale)
    page = await context.new_page()
    await page.goto(str(server.make_url("/")))
    return page


async def ask(page, question):
    await page.fill("#question", question)
    async with page.expect_response("**/api/ask"):
        await page.press("#question", "Enter")
    await expect(page.locator(".thinking")).to_have_count(0)
    return page.locator("article.msg.bot").last


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser, server):
    page = await open_chat(browser, server)
    yield page
    await page.context.close()


async def test_question_shows_thinking_then_a_cited_answer(page):
    release = asyncio.Event()

    async def hold(route):      # keep the answer back until the thinking state has been seen
        await release.wait()
        await route.continue_()

    await page.route("**/api/ask", hold)
    await page.fill("#question", "Hva tilbyr huben i Orkland?")
    await page.press("#question", "Enter")
    await expect(page.locator("article.msg.user")).to_have_text("Hva tilbyr huben i Orkland?")
    await expect(page.locator(".thinking")).to_have_text("tenker…")
    release.set()
    await expect(page.locator(".thinking")).to_have_count(0)
    answer = page.locator("article.msg.bot").last
    await expect(answer.locator(".lead")).to_have_text("Dette sier kildene:")
    await expect(answer.locator(".answer")).to_contain_text(
        "Orkland kommune bygde opp Innovasjonshub Orkland på Orkanger.")
    await expect(answer.locator(".answer button.cite").first).to_have_text("[1]")


async def test_citation_expands_to_the_full_passage(page):
    answer = await ask(page, "Hva tilbyr huben i Orkland?")
    source = answer.locator('.source[data-n="1"] .source-body')
    await expect(source).to_be_hidden()
    await answer.locator(".answer button.cite").first.click()
    await expect(source).to_be_visible()
    await expect(source.locator(".where")).to_contain_text("Statens hus i Orkland – statusrapport — s. 1")
    await expect(source.locator(".passage")).to_contain_text(
        "Utfordringen har vært å få de største etatene til å forplikte seg til faste plasser i huben.")


async def test_thumbs_up_shows_thanks(page, server):
    answer = await ask(page, "Hva tilbyr huben i Orkland?")
    await answer.get_by_role("button", name="Nyttig svar", exact=True).click()
    await expect(answer.locator(".feedback")).to_have_text("Takk for tilbakemeldingen! 👍")
    assert server.app[BOT_KEY].feedback.counts()["up"] == 1


async def test_thumbs_down_asks_what_was_wrong_and_saves_the_reason(page, server):
    answer = await ask(page, "Hva tilbyr huben i Orkland?")
    await answer.get_by_role("button", name="Ikke nyttig svar").click()
    reason = answer.get_by_placeholder("Hva var galt?")
    await expect(reason).to_be_focused()
    await reason.fill("svaret handlet om feil sted")
    await reason.press("Enter")
    await expect(answer.locator(".feedback")).to_have_text("Takk, begrunnelsen er lagret.")
    assert server.app[BOT_KEY].feedback.counts()["recent_reasons"] == ["svaret handlet om feil sted"]


async def test_follow_up_stays_in_the_conversation_and_survives_a_reload(page):
    await ask(page, "Hva tilbyr huben i Orkland?")
    answer = await ask(page, "og i Narvik?")
    await expect(answer.locator(".source .title").first).to_have_text("Narvik pilotkommunen i nord – resultatnotat")
    await page.reload()
    await expect(page.locator("article.msg.user")).to_have_text(["Hva tilbyr huben i Orkland?", "og i Narvik?"])
    await expect(page.locator("article.msg.bot")).to_have_count(2)


async def test_pilot_menu_limits_sources_to_that_pilot(page):
    await page.select_option("#pilot", "Narvik")
    answer = await ask(page, "Hvem arrangerte frokostmøter?")
    await expect(page.locator("article.msg.user .tag")).to_have_text("Bare Narvik")
    await expect(answer.locator(".source .title")).to_have_text(["Narvik pilotkommunen i nord – resultatnotat"])


async def test_comparison_shows_the_pilots_side_by_side(page):
    answer = await ask(page, "Hvilke etater flyttet inn hos pilotene?")
    cards = answer.locator(".pilot-card")
    await expect(cards.locator("h3")).to_have_text(["Stad", "Orkland", "Narvik", "Lyngdal"])
    await expect(cards.nth(0)).to_contain_text("Ingen kilde funnet for Stad.")
    await expect(cards.nth(2).locator("button.cite")).to_have_text("[1]")
    # one reading of all four boxes: the page may still be scrolling to the new answer
    boxes = await cards.evaluate_all("cards => cards.map(c => [c.offsetTop, c.offsetLeft])")
    assert len({top for top, _ in boxes}) == 1 and [left for _, left in boxes] == sorted({left for _, left in boxes})


async def test_suggestion_chip_asks_the_suggestion(page):
    answer = await ask(page, "Hvem arrangerte frokostmøter?")
    suggestion = "Sammenlign pilotene på: Hvem arrangerte frokostmøter?"
    await answer.get_by_role("button", name=suggestion).click()
    await expect(page.locator("article.msg.user").last).to_have_text(suggestion)
    await expect(page.locator("article.msg.bot").last.locator(".pilot-card")).to_have_count(4)


async def test_markup_in_a_question_is_shown_as_text(page):
    question = '<img src=x onerror="window.pwned=1"><b>fet</b>'
    await ask(page, question)
    await expect(page.locator("article.msg.user")).to_have_text(question)
    assert await page.locator("article img, article b").count() == 0
    assert await page.evaluate("window.pwned") is None


async def test_english_browser_gets_english_labels(browser, server):
    page = await open_chat(browser, server, locale="en-US")
    try:
        await expect(page.locator("#question")).to_have_attribute("placeholder", "Ask a question …")
        await expect(page.locator("#pilot option").first).to_have_text("All")
        assert await page.evaluate("document.documentElement.lang") == "en"
    finally:
        await page.context.close()

"""`husbot bench` surfaces: Slack end to end and concurrent web-chat questions, over real HTTP on 127.0.0.1.

Why it is built this way:
- Slack: the real `husbot serve` application (`build_app`) receives event callbacks signed as Slack signs them, and
  talks to a tiny recorder of the Slack Web API on 127.0.0.1 (below). The clock runs from sending the request to
  the moment the recorder receives the answer's `chat.postMessage`, so it covers signature check, ack, bolt's lazy
  listener, the bot and the Web API call. Baseline: `bot.handle` in-process for the same question, interleaved.
- Web chat: N questions POSTed to /api/ask at once; baseline: the same N asked one after another in-process.
- Both run on a copy of the sample home, so the bench's conversations never land in the user's store.
"""
from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import shutil
import time
from pathlib import Path

SIGNING_SECRET = "bench-secret"
BOT_USER_ID = "UBENCH"


class SlackRecorder:
    """The few Slack Web API methods the Slack adapter calls, answered on 127.0.0.1; records when a post arrives."""

    def __init__(self):
        from aiohttp import web
        from aiohttp.test_utils import TestServer

        self.posts: dict[str, tuple[float, str, dict]] = {}    # thread_ts -> (perf_counter, method, params)
        self._waiters: dict[str, asyncio.Event] = {}
        self._ts = itertools.count(1)
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        self.server = TestServer(app, host="127.0.0.1", port=0)

    async def start(self) -> "SlackRecorder":
        await self.server.start_server()
        return self

    async def close(self) -> None:
        await self.server.close()

    @property
    def url(self) -> str:
        return str(self.server.make_url("/api/"))

    def expect(self, thread_ts: str) -> asyncio.Event:
        self._waiters[thread_ts] = asyncio.Event()
        return self._waiters[thread_ts]

    async def _api(self, request):
        from aiohttp import web

        method = request.match_info["method"]
        params = dict(request.query)
        if request.content_type == "application/json":
            params.update(await request.json())
        elif request.can_read_body:
            params.update(dict(await request.post()))
        ts = f"1700000000.{next(self._ts):06d}"
        if method in ("chat.postMessage", "chat.postEphemeral"):
            thread = params.get("thread_ts") or ""
            self.posts[thread] = (time.perf_counter(), method, params)
            if thread in self._waiters:
                self._waiters[thread].set()
        body = {
            "auth.test": {"user_id": BOT_USER_ID, "bot_id": "BBENCH", "team_id": "T1", "user": "husbot",
                          "team": "bench", "url": "https://bench.slack.com/"},
            "chat.postMessage": {"channel": params.get("channel"), "ts": ts,
                                 "message": {"text": params.get("text"), "ts": ts, "bot_id": "BBENCH"}},
            "chat.postEphemeral": {"message_ts": ts},
            "users.info": {"user": {"id": params.get("user"), "name": "bench", "real_name": "Bench User",
                                    "profile": {"display_name": "Bench", "email": "bench@example.no"}}},
        }.get(method)
        if body is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        return web.json_response({"ok": True, **body})


def _pct_ms(values: list[float]) -> dict:
    from .bench import _ms
    return _ms(values)


def _event(question: str, ts: str, event_id: str) -> bytes:
    event = {"type": "app_mention", "user": "U1", "text": f"<@{BOT_USER_ID}> {question}", "channel": "C1",
             "ts": ts, "event_ts": ts}
    body = {"token": "x", "team_id": "T1", "api_app_id": "A1", "type": "event_callback", "event_id": event_id,
            "event_time": int(time.time()), "event": event,
            "authorizations": [{"team_id": "T1", "user_id": BOT_USER_ID, "is_bot": True}]}
    return json.dumps(body).encode()


async def _slack_e2e(session, base_url, recorder: SlackRecorder, bot, questions: list[str], n: int,
                     timeout: float) -> dict:
    from slack_sdk.signature import SignatureVerifier

    from bot import Turn

    verifier = SignatureVerifier(SIGNING_SECRET)
    e2e, base, kinds, statuses = [], [], {}, {}
    # one untimed round first: loads auth.test/users.info caches and warms the code paths
    for i in range(-1, n):
        q = questions[i % len(questions)]
        ts = f"1800000000.{i + 2:06d}"
        raw = _event(q, ts, f"EvBench{i + 2:05d}")

        async def over_slack() -> float:
            stamp = str(int(time.time()))
            headers = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": stamp,
                       "X-Slack-Signature": verifier.generate_signature(timestamp=stamp, body=raw)}
            done = recorder.expect(ts)
            t0 = time.perf_counter()
            async with session.post(f"{base_url}/slack/events", data=raw, headers=headers) as r:
                statuses[r.status] = statuses.get(r.status, 0) + 1
                await r.read()
            await asyncio.wait_for(done.wait(), timeout)
            t_post, method, _ = recorder.posts[ts]
            kinds[method] = kinds.get(method, 0) + 1
            return t_post - t0

        async def in_process() -> float:
            # the same turn the adapter builds, straight into the bot (its own thread: no follow-up context)
            turn = Turn(text=q, user_id="U1", user_name="Bench", email="bench@example.no", channel_id="C1",
                        thread_id=f"1900000000.{i + 2:06d}", platform="slack", event_id=f"EvBase{i + 2:05d}")
            t1 = time.perf_counter()
            await bot.handle(turn)
            return time.perf_counter() - t1

        # interleaved, alternating which goes first, so drifting contention and warm caches favour neither
        if i % 2:
            a, b = await in_process(), await over_slack()
        else:
            b, a = await over_slack(), await in_process()
        if i >= 0:
            e2e.append(b)
            base.append(a)
    return {"e2e": _pct_ms(e2e), "in_process": _pct_ms(base), "statuses": statuses, "posts": kinds,
            "questions": n}


async def _web_concurrent(session, base_url, bot, questions: list[str], n: int) -> dict:
    from bot import Turn

    qs = [questions[i % len(questions)] for i in range(n)]
    # baseline: the same questions one after another, in-process, as the web chat's own turns
    seq = []
    t0 = time.perf_counter()
    for i, q in enumerate(qs):
        t = time.perf_counter()
        await bot.handle(Turn(text=q, platform="web", channel_id=f"bench-seq-{i}", role="admin"))
        seq.append(time.perf_counter() - t)
    seq_wall = time.perf_counter() - t0

    async def one(i: int, q: str) -> tuple[float, int, str]:
        t = time.perf_counter()
        async with session.post(f"{base_url}/api/ask", json={"text": q, "conversation_id": f"bench-web-{i}"}) as r:
            status = r.status
            body = await r.json(content_type=None)
        return time.perf_counter() - t, status, body.get("kind", "")

    t0 = time.perf_counter()
    results = await asyncio.gather(*(one(i, q) for i, q in enumerate(qs)))
    wall = time.perf_counter() - t0
    kinds: dict = {}
    for _, status, kind in results:
        key = f"{status} {kind}"
        kinds[key] = kinds.get(key, 0) + 1
    return {"questions": n, "wall_s": wall, "per_request": _pct_ms([x[0] for x in results]),
            "throughput_qps": n / wall, "replies": kinds, "sequential_wall_s": seq_wall,
            "sequential": _pct_ms(seq), "sequential_qps": n / seq_wall}


async def _measure(settings, knowledge, questions: list[str], slack_n: int, web_n: int, timeout: float) -> dict:
    import aiohttp
    from aiohttp.test_utils import TestServer

    from adapters.server import BOT_KEY, build_app
    from bot import Turn

    recorder = await SlackRecorder().start()
    s = dataclasses.replace(settings, slack_bot_token="xoxb-bench", slack_signing_secret=SIGNING_SECRET,
                            slack_api_url=recorder.url)
    app = build_app(s, knowledge)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    base_url = str(server.make_url("")).rstrip("/")
    bot = app[BOT_KEY]
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            await bot.handle(Turn(text=questions[0], channel_id="bench-warm", role="admin"))   # loads the model
            out = {"slack": await _slack_e2e(session, base_url, recorder, bot, questions, slack_n, timeout)}
            out["web"] = await _web_concurrent(session, base_url, bot, questions, web_n)
        await asyncio.sleep(0.05)   # let bolt's lazy listener tasks finish before the loop closes
    finally:
        await server.close()
        await recorder.close()
    return out


def measure_surfaces(settings, home: Path, work: Path, questions: list[str], embedder=None, slack_n: int = 100,
                     web_n: int = 20, timeout: float = 120.0) -> dict:
    """Slack end to end and concurrent web chat on a copy of `home` (the indexed sample corpus) in `work`."""
    from knowledge import Knowledge

    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(home, work)
    kn = Knowledge(dataclasses.replace(settings, home=work), embedder=embedder)
    try:
        return asyncio.run(_measure(dataclasses.replace(settings, home=work), kn, questions, slack_n, web_n,
                                    timeout))
    finally:
        kn.close()

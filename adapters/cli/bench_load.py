"""`husbot bench --load`: many questions at once, half as web-chat API calls and half as signed Slack events, against
the real `husbot serve` application on 127.0.0.1, on the sample corpus and on a synthetic store (issue #8).

Why it is built this way:
- All questions are sent at the same moment (one `asyncio.gather`), so they really compete for the 2 cores and for
  the core's admission slots (`max_questions_in_flight` / `max_questions_waiting`).
- A web question's time runs from sending the request to reading its JSON reply; a Slack question's from sending
  the signed event to the moment the Slack recorder (bench_surfaces.SlackRecorder) receives the answer's post.
  Slack's acknowledgement time (the HTTP answer to the event, which Slack wants within 3 s) is reported apart.
- Each reply is counted as an answer, the busy reply («husbot er travel akkurat nå»), or a failure (HTTP 5xx, no
  post within the timeout); the run works on a copy of the store, so its conversations never reach the user's.
"""
from __future__ import annotations

import asyncio
import dataclasses
import shutil
import time
from pathlib import Path

LOAD_QUESTIONS = 50      # questions sent at once
LOAD_TIMEOUT = 180.0     # seconds a Slack question may take before it counts as lost


def _stats(values: list[float]) -> dict:
    from .bench import _ms, _pct

    out = _ms(values)
    out["max_ms"] = max(values) * 1000 if values else float("nan")
    out["mean_ms"] = sum(values) / len(values) * 1000 if values else float("nan")
    out["p99_ms"] = _pct(values, 99) * 1000
    return out


def _kind_of_slack_post(params: dict) -> str:
    from bot import t

    text = params.get("text") or ""
    return "busy" if text in (t("busy", "nb"), t("busy", "en")) else "answer"


async def _round(settings, knowledge, questions: list[str], n: int, timeout: float) -> dict:
    import aiohttp
    from aiohttp.test_utils import TestServer
    from slack_sdk.signature import SignatureVerifier

    from adapters.server import BOT_KEY, build_app
    from bot import Turn

    from .bench_surfaces import SIGNING_SECRET, SlackRecorder, _event

    recorder = await SlackRecorder().start()
    s = dataclasses.replace(settings, slack_bot_token="xoxb-bench", slack_signing_secret=SIGNING_SECRET,
                            slack_api_url=recorder.url, scheduler=False)
    app = build_app(s, knowledge)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    base_url = str(server.make_url("")).rstrip("/")
    bot = app[BOT_KEY]
    verifier = SignatureVerifier(SIGNING_SECRET)
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            await bot.handle(Turn(text=questions[0], channel_id="load-warm", role="admin"))   # loads model, indexes

            async def web(i: int, q: str) -> dict:
                t0 = time.perf_counter()
                async with session.post(f"{base_url}/api/ask",
                                        json={"text": q, "conversation_id": f"load-web-{i}"}) as r:
                    status = r.status
                    body = await r.json(content_type=None)
                kind = body.get("kind", "") if status < 500 else "failed"
                return {"surface": "web", "seconds": time.perf_counter() - t0, "status": status,
                        "kind": "answer" if kind in ("answer", "comparison") else kind}

            async def slack(i: int, q: str) -> dict:
                ts = f"1850000000.{i + 1:06d}"
                raw = _event(q, ts, f"EvLoad{i + 1:05d}")
                stamp = str(int(time.time()))
                headers = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": stamp,
                           "X-Slack-Signature": verifier.generate_signature(timestamp=stamp, body=raw)}
                done = recorder.expect(ts)
                t0 = time.perf_counter()
                async with session.post(f"{base_url}/slack/events", data=raw, headers=headers) as r:
                    status = r.status
                    await r.read()
                ack = time.perf_counter() - t0
                try:
                    await asyncio.wait_for(done.wait(), timeout)
                except asyncio.TimeoutError:
                    return {"surface": "slack", "seconds": timeout, "status": status, "ack": ack, "kind": "lost"}
                t_post, _, params = recorder.posts[ts]
                return {"surface": "slack", "seconds": t_post - t0, "status": status, "ack": ack,
                        "kind": _kind_of_slack_post(params)}

            before = bot.admission.refused
            t0 = time.perf_counter()
            results = await asyncio.gather(*((web if i % 2 else slack)(i, questions[i % len(questions)])
                                             for i in range(n)))
            wall = time.perf_counter() - t0
        await asyncio.sleep(0.05)   # let bolt's lazy listener tasks finish before the loop closes
    finally:
        await server.close()
        await recorder.close()
    kinds: dict[str, int] = {}
    for r in results:
        kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
    answered = [r["seconds"] for r in results if r["kind"] == "answer"]
    return {
        "questions": n, "wall_s": wall, "kinds": kinds,
        "errors": sum(1 for r in results if r["status"] >= 500 or r["kind"] in ("failed", "lost", "error")),
        "all": _stats([r["seconds"] for r in results]), "answered": _stats(answered),
        "web": _stats([r["seconds"] for r in results if r["surface"] == "web"]),
        "slack": _stats([r["seconds"] for r in results if r["surface"] == "slack"]),
        "slack_ack": _stats([r["ack"] for r in results if r["surface"] == "slack"]),
        "refused": bot.admission.refused - before,
        "max_in_flight": bot.admission.limit, "max_waiting": bot.admission.max_waiting,
    }


def _source(knowledge) -> tuple:
    """The sample store's passages and vectors, as `build_synthetic` takes them."""
    import numpy as np

    ids, vectors = knowledge.store.vectors()
    by_id = dict(zip(ids.tolist(), range(len(ids))))
    passages = [p for p in knowledge.store.passages() if p.id in by_id]
    picked = vectors[[by_id[p.id] for p in passages]]
    model = knowledge.store.get_meta("embed_model")
    return passages, np.ascontiguousarray(picked, np.float32), model, vectors.shape[1]


def measure_load(settings, sample_home: Path, work: Path, questions: list[str], embedder=None,
                 sizes: tuple[int, ...] = (100_000,), n: int = LOAD_QUESTIONS, timeout: float = LOAD_TIMEOUT,
                 on_progress=print) -> dict:
    """`n` mixed questions at once on a copy of `sample_home` (the indexed sample corpus), then on a synthetic
    store of each size built from its passages and vectors in `work`."""
    from knowledge import Knowledge

    from .bench import _load, build_synthetic, prepare_indexes

    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    out: dict = {"load_start": _load(), "stores": []}
    try:
        copy = work / "sample"
        shutil.copytree(sample_home, copy)
        s = dataclasses.replace(settings, home=copy)
        kn = Knowledge(s, embedder=embedder)
        try:
            passages = kn.store.counts()["passages"]
            on_progress(f"load: {n} questions at once on the sample corpus ({passages} passages)")
            row = {"store": "sample corpus", "passages": passages, "load_before": _load()}
            row.update(asyncio.run(_round(s, kn, questions, n, timeout)))
            source = _source(kn)
        finally:
            kn.close()
        out["stores"].append(row)
        for size in sizes:
            home = work / f"synthetic-{size}"
            on_progress(f"load: writing a synthetic store of {size} passages")
            built = build_synthetic(source, home, size, seed=size, on_progress=lambda done, total: None)
            prepared = prepare_indexes(settings, home, size)
            s = dataclasses.replace(settings, home=home)
            kn = Knowledge(s, embedder=embedder)
            try:
                t0 = time.perf_counter()
                kn.retriever    # opening the store (loading FAISS and the lexical index) is not part of the load
                opened = time.perf_counter() - t0
                on_progress(f"load: {n} questions at once on the synthetic store of {size} passages")
                row = {"store": "synthetic", "passages": size, "write_s": built["write_s"],
                       "prepare_s": prepared["seconds"], "open_s": opened, "load_before": _load()}
                row.update(asyncio.run(_round(s, kn, questions, n, timeout)))
            finally:
                kn.close()
            out["stores"].append(row)
            shutil.rmtree(home, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out["load_end"] = _load()
    return out


def markdown(result: dict) -> str:
    """The figures as a Markdown table (pasted into docs/reliability.md)."""
    lines = ["| store | passages | questions | answered | busy | errors | all p50 / p95 / max | "
             "web p50 / p95 / max | Slack p50 / p95 / max | Slack ack p50 / p95 / max | load before |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]

    def f(d: dict) -> str:
        return f"{d['p50_ms'] / 1000:.2f} / {d['p95_ms'] / 1000:.2f} / {d['max_ms'] / 1000:.2f} s"

    for r in result["stores"]:
        k = r["kinds"]
        passages = f"{r['passages']:,}".replace(",", " ")
        lines.append(f"| {r['store']} | {passages} | {r['questions']} | {k.get('answer', 0)} | "
                     f"{k.get('busy', 0)} | {r['errors']} | {f(r['all'])} | {f(r['web'])} | {f(r['slack'])} | "
                     f"{f(r['slack_ack'])} | {r['load_before']:.2f} |")
    return "\n".join(lines) + "\n"

"""`husbot bench --postgres`: husbot on PostgreSQL beside SQLite in the same run (issue 9).

What it measures, on the sample corpus copied into an empty PostgreSQL database:
- the copy itself (`copy_store`, SQLite → PostgreSQL, nothing re-embedded): seconds and rows per second;
- retrieval quality on the dev set (Hit@1, Hit@5, MRR@10) and answers given/declined, for SQLite (bm25), PostgreSQL
  (bm25: must rank like SQLite) and PostgreSQL with the lexical side inside the database (pg_trgm);
- warm latency p50/p95 of the same questions on all three, interleaved question by question so drifting CPU
  contention hits all alike, as ratios against SQLite;
- two real `husbot serve` processes on the same database (each its own HUSBOT_HOME) under 50 web-chat questions sent
  at once and split between them, against one server with all 50 (the way `bench --load` sends them);
- the same latencies on a synthetic store of each size (`bench.build_synthetic`: real passages recombined, never
  re-embedded) copied to its own database, where the in-database ranker's cost grows with the postings it reads.

Why a throwaway server by default: the copy needs an empty database, and the load writes conversations; it runs with
fsync off (adapters/cli/pgtemp.py), which flatters write timings, not searches.
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

LOAD_QUESTIONS = 50
SERVE_TIMEOUT = 180.0     # seconds a `husbot serve` may take to answer /healthz
ROUNDS = 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- quality and latency, in-process ----------------------------------------------------------------------------------
def _quality(kn, items: list[dict], unanswerable: list[dict], k: int) -> dict:
    from knowledge.evaluation import evaluate

    from .main import hit_dict

    ev = evaluate(items, lambda item: [hit_dict(h) for h in kn.search(item["question"], k)], k)
    answered = sum(1 for it in items if kn.ask(it["question"]).found)
    declined = sum(1 for it in unanswerable if not kn.ask(it["question"]).found)
    return {"metrics": ev["metrics"], "ranks": [r["first_hit_rank"] for r in ev["results"]],
            "answered": answered, "declined": declined}


def _latency(knowledges: dict, questions: list[str], k: int, rounds: int) -> dict:
    """Warm `Knowledge.search` (e5 query included) and retrieval alone (query vector given), interleaved: each
    question is asked of every configuration in turn, the first one rotating."""
    names = list(knowledges)
    embedder = next(iter(knowledges.values())).embedder
    qvecs = {q: embedder.embed_query(q) for q in questions}
    for kn in knowledges.values():                      # warm-up, not timed
        for q in questions[:5]:
            kn.search(q, k)
    lat = {n: {"search": [], "retrieval": []} for n in names}
    turn = 0
    for _ in range(rounds):
        for q in questions:
            order = names[turn % len(names):] + names[:turn % len(names)]
            turn += 1
            for n in order:
                kn = knowledges[n]
                t = time.perf_counter()
                kn.search(q, k)
                lat[n]["search"].append(time.perf_counter() - t)
                t = time.perf_counter()
                kn.retriever.search(q, k, query_vector=qvecs[q])
                lat[n]["retrieval"].append(time.perf_counter() - t)
    from .bench import _ms

    return {n: {kind: _ms(v) for kind, v in d.items()} for n, d in lat.items()}


def _synthetic(settings, source: tuple, n: int, work: Path, database_url: str, embedder, questions: list[str],
               k: int) -> dict:
    """A synthetic store of `n` passages in SQLite and copied to `database_url`: first loads and warm latency."""
    from knowledge import Knowledge
    from knowledge.dbcopy import copy_store
    from knowledge.store import PostgresStore, SQLiteStore

    from .bench import build_synthetic

    home = work / f"synthetic-{n}"
    built = build_synthetic(source, home / "sqlite", n, seed=n, on_progress=lambda done, total: None)
    src, dst = SQLiteStore(home / "sqlite"), PostgresStore(database_url, home / "copy-home")
    try:
        report = copy_store(src, dst)
    finally:
        src.close()
        dst.close()
    configs = {"SQLite, bm25": dict(home=home / "sqlite"),
               "PostgreSQL, bm25": dict(home=home / "pg-bm25", database_url=database_url),
               "PostgreSQL, pg_trgm": dict(home=home / "pg-trgm", database_url=database_url, lexical="pg_trgm")}
    knowledges, opened = {}, {}
    try:
        for name, kw in configs.items():
            t = time.perf_counter()
            knowledges[name] = kn = Knowledge(dataclasses.replace(settings, **kw), embedder=embedder)
            kn.retriever
            opened[name] = time.perf_counter() - t
        latency = _latency(knowledges, questions, k, 1)
    finally:
        for kn in knowledges.values():
            kn.close()
    shutil.rmtree(home, ignore_errors=True)
    return {"passages": n, "write_s": built["write_s"],
            "copy": {"seconds": report.seconds, "rows": report.rows, "rows_per_s": report.rows / report.seconds},
            "configs": {name: {"open_s": opened[name], **latency[name]} for name in configs}}


# -- servers under load ---------------------------------------------------------------------------------------------
class _Serve:
    """One `husbot serve` process on 127.0.0.1 with its own data folder."""

    def __init__(self, settings, home: Path, database_url: str, lexical: str, log: Path):
        from .bench import _env, _husbot_cmd

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**_env(settings, home), "HUSBOT_DATABASE_URL": database_url, "HUSBOT_LEXICAL": lexical,
               "HUSBOT_SCHEDULER": "false", "HUSBOT_HOST": "127.0.0.1", "HUSBOT_PORT": str(self.port)}
        for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "HUSBOT_CONFIG"):
            env.pop(name, None)
        self.log = open(log, "w")
        self.proc = subprocess.Popen(_husbot_cmd() + ["serve"], env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     cwd=os.getcwd())

    async def ready(self, session) -> float:
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < SERVE_TIMEOUT:
            if self.proc.poll() is not None:
                raise RuntimeError(f"husbot serve exited ({self.proc.returncode}); see {self.log.name}")
            try:
                async with session.get(f"{self.url}/healthz") as r:
                    if r.status == 200:
                        return time.perf_counter() - t0
            except OSError:
                pass
            await asyncio.sleep(0.2)
        raise RuntimeError(f"husbot serve did not answer /healthz within {SERVE_TIMEOUT:.0f} s; see {self.log.name}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


async def _ask_all(servers: list[_Serve], questions: list[str], n: int) -> dict:
    """`n` questions POSTed to /api/ask at the same moment, question i to server i mod len(servers)."""
    import aiohttp

    from .bench_load import _stats

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                     timeout=aiohttp.ClientTimeout(total=600)) as session:
        started = [await s.ready(session) for s in servers]
        for i, s in enumerate(servers):                 # loads the model and the indexes; not timed
            async with session.post(f"{s.url}/api/ask", json={"text": questions[i], "conversation_id": f"warm-{i}"}) as r:
                await r.read()

        async def one(i: int, q: str) -> dict:
            s = servers[i % len(servers)]
            t0 = time.perf_counter()
            try:
                async with session.post(f"{s.url}/api/ask", json={"text": q, "conversation_id": f"pg-{i}"}) as r:
                    status = r.status
                    body = await r.json(content_type=None)
                kind = body.get("kind", "") if status < 500 and isinstance(body, dict) else "failed"
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
                status, kind = 599, "failed"
            kind = "answer" if kind in ("answer", "comparison") else kind
            return {"server": i % len(servers), "seconds": time.perf_counter() - t0, "status": status, "kind": kind}

        t0 = time.perf_counter()
        results = await asyncio.gather(*(one(i, questions[i % len(questions)]) for i in range(n)))
        wall = time.perf_counter() - t0
    kinds: dict[str, int] = {}
    for r in results:
        kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
    return {"servers": len(servers), "questions": n, "wall_s": wall, "kinds": kinds, "start_s": started,
            "errors": sum(1 for r in results if r["status"] >= 500 or r["kind"] in ("failed", "error")),
            "all": _stats([r["seconds"] for r in results]),
            "per_server": [_stats([r["seconds"] for r in results if r["server"] == i]) for i in range(len(servers))]}


def _load_round(settings, work: Path, homes: list[Path], database_url: str, lexical: str, questions: list[str],
                n: int) -> dict:
    from .bench import _load

    servers = []
    load_before = _load()
    try:
        for i, home in enumerate(homes):
            servers.append(_Serve(settings, home, database_url, lexical, work / f"serve-{home.name}-{i}.log"))
        out = asyncio.run(_ask_all(servers, questions, n))
    finally:
        for s in servers:
            s.stop()
    out["load_before"] = load_before
    return out


# -- the whole section ----------------------------------------------------------------------------------------------
def measure_postgres(settings, sample_home: Path, work: Path, items: list[dict], unanswerable: list[dict],
                     embedder=None, database_url: str | None = None, k: int = 10, rounds: int = ROUNDS,
                     n: int = LOAD_QUESTIONS, sizes: tuple[int, ...] = (10_000,), on_progress=print) -> dict:
    """Everything above; `database_url` an empty PostgreSQL database, else a throwaway server is started
    (PostgresUnavailable when there is none), which also holds one database per synthetic size."""
    from knowledge import Knowledge
    from knowledge.dbcopy import copy_store
    from knowledge.store import PostgresStore, SQLiteStore

    from .bench import _load, machine_info
    from .pgtemp import TempPostgres

    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    started = dt.datetime.now(dt.timezone.utc)
    out: dict = {"date": started.isoformat(timespec="seconds"), "machine": machine_info(), "load_start": _load(),
                 "n_questions": len(items), "n_unanswerable": len(unanswerable), "k": k, "rounds": rounds,
                 "embedder": settings.embedder, "threads": settings.threads}
    t_start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        pg = None
        if database_url:
            out["server"] = "given"
        else:
            pg = stack.enter_context(TempPostgres())
            database_url = pg.create_database("husbot_bench")
            out["server"] = "throwaway"
        import psycopg
        with psycopg.connect(database_url, autocommit=True) as conn:
            out["postgres_version"] = conn.execute("show server_version").fetchone()[0]

        # (c) the copy
        sample = work / "sample"
        shutil.copytree(sample_home, sample)        # the servers below write conversations into their store
        on_progress("postgres: copying the sample store SQLite → PostgreSQL")
        src = SQLiteStore(sample)
        dst = PostgresStore(database_url, work / "copy-home")
        try:
            report = copy_store(src, dst, home=sample)
        finally:
            src.close()
            dst.close()
        out["copy"] = {"seconds": report.seconds, "rows": report.rows, "tables": report.tables,
                       "rows_per_s": report.rows / report.seconds if report.seconds else float("nan"),
                       "passages": report.tables.get("passages", 0)}

        # (a) + (b) quality and latency, the three side by side in this process
        configs = {"SQLite, bm25": dict(home=sample),
                   "PostgreSQL, bm25": dict(home=work / "pg-bm25", database_url=database_url),
                   "PostgreSQL, pg_trgm": dict(home=work / "pg-trgm", database_url=database_url, lexical="pg_trgm")}
        knowledges, opened = {}, {}
        try:
            for name, kw in configs.items():
                t = time.perf_counter()
                kn = Knowledge(dataclasses.replace(settings, **{**kw, "home": Path(kw["home"])}), embedder=embedder)
                knowledges[name] = kn
                kn.retriever    # a new server's first load: FAISS (and BM25) from the database, or pg_trgm's postings
                opened[name] = time.perf_counter() - t
            on_progress("postgres: retrieval quality on the dev set (SQLite, PostgreSQL bm25, PostgreSQL pg_trgm)")
            quality = {name: _quality(kn, items, unanswerable, k) for name, kn in knowledges.items()}
            on_progress(f"postgres: warm latency, {rounds} round(s) × {len(items)} questions, interleaved")
            latency = _latency(knowledges, [it["question"] for it in items], k, rounds)
            from .bench_load import _source
            source = _source(knowledges["SQLite, bm25"])
        finally:
            for kn in knowledges.values():
                kn.close()
        base = quality["SQLite, bm25"]["ranks"]
        out["configs"] = {name: {"open_s": opened[name], **quality[name], **latency[name],
                                 "same_rank_as_sqlite": sum(a == b for a, b in zip(q["ranks"], base))}
                          for name, q in quality.items()}

        # the same at scale, each size in a database of its own (only on a server the bench started)
        out["synthetic"] = []
        for size in sizes if pg is not None else ():
            on_progress(f"postgres: synthetic store of {size} passages, SQLite and PostgreSQL")
            out["synthetic"].append(_synthetic(settings, source, size, work, pg.create_database(f"husbot_bench_{size}"),
                                               embedder, [it["question"] for it in items], k))

        # (d) servers under load
        out["load"] = []
        plan = [("SQLite", "bm25", [sample], "")] + [
            ("PostgreSQL", lexical, homes, database_url) for lexical in ("bm25", "pg_trgm")
            for homes in ([work / f"{lexical}-one"], [work / f"{lexical}-a", work / f"{lexical}-b"])]
        questions = [it["question"] for it in items]
        for backend, lexical, homes, url in plan:
            on_progress(f"postgres: {n} questions at once on {len(homes)} server(s), {backend}, {lexical}")
            row = _load_round(settings, work, homes, url, lexical, questions, n)
            out["load"].append({"backend": backend, "lexical": lexical, **row})
    out["load_end"] = _load()
    out["total_s"] = time.perf_counter() - t_start
    return out


# -- the report -----------------------------------------------------------------------------------------------------
def _r(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b else "–"


def _n(x: int) -> str:
    return f"{x:,}".replace(",", "\u202f")


def _pr(x: dict, base: dict, kind: str = "retrieval") -> str:
    """p50 / p95 ms, with the ratios against `base` unless it is the base."""
    out = f"{x[kind]['p50_ms']:.1f} / {x[kind]['p95_ms']:.1f} ms"
    if x is not base:
        out += f" ({_r(x[kind]['p50_ms'], base[kind]['p50_ms'])} / {_r(x[kind]['p95_ms'], base[kind]['p95_ms'])})"
    return out


def markdown(r: dict) -> str:
    """The "## PostgreSQL" section of docs/benchmarks.md."""
    m, c = r["machine"], r["copy"]
    base = r["configs"]["SQLite, bm25"]
    lines = [
        "## PostgreSQL",
        "",
        f"Measured by `husbot bench --postgres` on {r['date'][:10]} (started {r['date']}; {r['total_s'] / 60:.1f} "
        f"minutes) on {m['cpu']}, {m['cores']} cores; PostgreSQL {r['postgres_version']} "
        f"({'a throwaway server started by the bench, fsync off' if r['server'] == 'throwaway' else 'the given database'})"
        f" on the same machine. 1-minute load average {r['load_start']:.1f} at the start and {r['load_end']:.1f} at "
        f"the end (other jobs share the CPU; compare the ratios, each against a baseline from the same run). Sample "
        f"corpus ({c['passages']} passages), dev questions `eval/qa_dev.jsonl` ({r['n_questions']}) and "
        f"`eval/unanswerable.jsonl` ({r['n_unanswerable']}); embedder `{r['embedder']}`, k = {r['k']}.",
        "",
        "| store, lexical ranker | Hit@1 | Hit@5 | MRR@10 | first hit as SQLite | answered / declined | "
        "search p50 / p95 | ratio | retrieval only p50 / p95 | ratio | first load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, x in r["configs"].items():
        q = x["metrics"]
        lines.append(
            f"| {name} | {q['hit@1']:.3f} | {q['hit@5']:.3f} | {q['mrr@10']:.3f} | "
            f"{x['same_rank_as_sqlite']}/{r['n_questions']} | {x['answered']}/{r['n_questions']} · "
            f"{x['declined']}/{r['n_unanswerable']} | "
            f"{x['search']['p50_ms']:.1f} / {x['search']['p95_ms']:.1f} ms | "
            f"{_r(x['search']['p50_ms'], base['search']['p50_ms'])} / "
            f"{_r(x['search']['p95_ms'], base['search']['p95_ms'])} | "
            f"{x['retrieval']['p50_ms']:.1f} / {x['retrieval']['p95_ms']:.1f} ms | "
            f"{_r(x['retrieval']['p50_ms'], base['retrieval']['p50_ms'])} / "
            f"{_r(x['retrieval']['p95_ms'], base['retrieval']['p95_ms'])} | {x['open_s']:.2f} s |")
    lines += [
        "",
        f"- *first hit as SQLite*: questions whose first covering hit has the same rank as on SQLite. *answered / "
        "declined*: dev questions answered, unanswerable ones declined (the confidence threshold, which uses the "
        f"lexical ranker's coverage). *search*: `Knowledge.search` with the e5 query embedding, warm, {r['rounds']} "
        f"round(s) × {r['n_questions']} questions, the three asked in turn per question (the first rotating); "
        "*retrieval only*: the same with the query vector given, where the lexical ranker's cost shows. *first load*: "
        "opening a new server's data folder, i.e. FAISS (and the in-process BM25) built from the database; for "
        "pg_trgm this includes making the extension's lexicon and postings at first use.",
        f"- **Copy** SQLite → PostgreSQL (`copy_store`, nothing re-embedded): {c['rows']} rows in {c['seconds']:.2f} s "
        f"({c['rows_per_s']:.0f} rows/s); "
        + ", ".join(f"{t} {n}" for t, n in c["tables"].items() if n) + ".",
    ]
    if r.get("synthetic"):
        lines += ["", "**At scale** (synthetic stores as under *Scaling* above: real passages recombined, never "
                  "re-embedded, so for speed, not quality; each copied to a database of its own; one round of the dev "
                  "questions, interleaved as above; p50 / p95, ratio against SQLite):", "",
                  "| passages | copy | first load SQLite / PostgreSQL bm25 / pg_trgm | retrieval only, SQLite | "
                  "PostgreSQL bm25 | PostgreSQL pg_trgm | search (e5 included), SQLite | PostgreSQL pg_trgm |",
                  "|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for syn in r["synthetic"]:
            cf = syn["configs"]
            s0, b, tg = cf["SQLite, bm25"], cf["PostgreSQL, bm25"], cf["PostgreSQL, pg_trgm"]
            lines.append(f"| {_n(syn['passages'])} | {_n(syn['copy']['rows'])} rows, {syn['copy']['seconds']:.1f} s "
                         f"({syn['copy']['rows_per_s']:.0f} rows/s) | {s0['open_s']:.1f} / {b['open_s']:.1f} / "
                         f"{tg['open_s']:.1f} s | {_pr(s0, s0)} | {_pr(b, s0)} | {_pr(tg, s0)} | "
                         f"{_pr(s0, s0, 'search')} | {_pr(tg, s0, 'search')} |")
    lines += [
        "",
        f"**Servers under load.** {r['load'][0]['questions']} web-chat questions (`POST /api/ask`, the dev questions "
        "cycled, a conversation each) sent at the same moment, split in turn between real `husbot serve` processes "
        "on 127.0.0.1 (each its own `HUSBOT_HOME`, the same database, scheduler off), after one untimed question "
        "each. Baseline: one server with all of them, same store and ranker.",
        "",
        "| store, lexical ranker | servers | answered | busy | errors | p50 / p95 / max | p95 ratio | wall | load "
        "before |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    one = {}
    for row in r["load"]:
        key = (row["backend"], row["lexical"])
        if row["servers"] == 1:
            one[key] = row
        a, k = row["all"], row["kinds"]
        ratio = _r(a["p95_ms"], one[key]["all"]["p95_ms"]) if key in one else "–"
        lines.append(f"| {row['backend']}, {row['lexical']} | {row['servers']} | {k.get('answer', 0)} | "
                     f"{k.get('busy', 0)} | {row['errors']} | {a['p50_ms'] / 1000:.2f} / {a['p95_ms'] / 1000:.2f} / "
                     f"{a['max_ms'] / 1000:.2f} s | {ratio} | {row['wall_s']:.2f} s | {row['load_before']:.1f} |")
    lines += [
        "",
        "- The servers, the bench and (with the throwaway server) PostgreSQL share the same cores, so here a second "
        "server adds no CPU: the two-server rows show that sharing one database costs no latency and no errors; "
        "capacity grows with servers on machines of their own. The SQLite server commits its conversation writes "
        "with fsync, the throwaway PostgreSQL without.",
        f"- Re-run: `husbot bench --postgres --output docs/benchmarks.md` (this section only; the rest of the file "
        "stays), or `--postgres-url postgresql://…` for an empty database of your own.",
        "",
    ]
    return "\n".join(lines)


def splice(path: Path, section: str, heading: str = "## PostgreSQL") -> str:
    """`path`'s text with its `heading` section replaced by `section` (appended when it has none)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    return keep_section(text, section, heading) if text else section


def keep_section(text: str, section: str, heading: str = "## PostgreSQL") -> str:
    """`text` with the section under `heading` (up to the next "## ") replaced by `section`, or `section` appended."""
    lines = text.rstrip("\n").split("\n")
    start = next((i for i, line in enumerate(lines) if line.strip() == heading), None)
    if start is None:
        return "\n".join(lines) + "\n\n" + section.rstrip("\n") + "\n"
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "\n".join(lines[:start] + section.rstrip("\n").split("\n") + [""] + lines[end:]).rstrip("\n") + "\n"


def section_of(text: str, heading: str = "## PostgreSQL") -> str | None:
    """The section under `heading` in `text` (for a full `husbot bench --output` to keep), or None."""
    lines = text.split("\n")
    start = next((i for i, line in enumerate(lines) if line.strip() == heading), None)
    if start is None:
        return None
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "\n".join(lines[start:end]).rstrip("\n") + "\n"

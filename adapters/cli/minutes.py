"""`husbot minutes …` and `husbot tasks …`: import, list and export meeting minutes; list and close action items.

These call the minutes library (`bot.minutes.Minutes`, `indexer.minutes`) directly; no chat Bot is built.
"""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from bot.minutes import MEETING_TYPES, Minutes
from bot.minutes_export import to_docx, to_markdown
from bot.roster import normalise_pilot
from indexer.minutes import index_minutes
from indexer.readers import read

IMPORTABLE = (".txt", ".md", ".docx")
console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _knowledge(ctx):
    from .main import _knowledge as knowledge   # why late: main imports this module while it registers commands
    return knowledge(ctx)


def _book(ctx) -> Minutes:
    return Minutes(_knowledge(ctx).store.db)


def _iso(ctx, param, value):
    if value is None:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a date; use YYYY-MM-DD") from None


def _index(ctx, rec: dict) -> bool:
    book = _book(ctx)
    try:
        index_minutes(_knowledge(ctx), rec, book.messages(rec["id"]))
    except Exception as e:  # accepted and stored either way; `husbot minutes reindex` retries
        err.print(f"[yellow]Advarsel:[/] referat #{rec['id']} er lagret, men ikke indeksert: {type(e).__name__}: {e}")
        return False
    book.mark_indexed(rec["id"])
    return True


def _summary(rec: dict) -> dict:
    c = rec["content"]
    return {"id": rec["id"], "status": rec["status"], "version": rec["version"], "type": rec["type"],
            "title": rec["title"], "date": rec["date"], "pilots": rec["pilots"], "participants": rec["participants"],
            "decisions": c["decisions"],
            "actions": [{k: a.get(k) for k in ("text", "owner", "due", "due_text", "due_flagged")} for a in c["actions"]],
            "questions": c["questions"], "topics": c["topics"], "summary": c.get("summary", "")}


@click.group()
def minutes():
    """Meeting minutes: import, list, export."""


@minutes.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--pilot", "pilots", multiple=True, help="Pilot the meeting belongs to (repeatable).")
@click.option("--type", "kind", type=click.Choice(MEETING_TYPES), required=True, help="Meeting type.")
@click.option("--date", "day", required=True, callback=_iso, help="Meeting date, YYYY-MM-DD.")
@click.option("--title", default="", help="Title (default: the file's first line).")
@click.option("--accept", is_flag=True, help="Accept the extraction as it is (finished minutes) and index it.")
@click.option("--json", "as_json", is_flag=True, help="Print the extracted decisions and action items as JSON.")
@click.pass_context
def import_(ctx, file, pilots, kind, day, title, accept, as_json):
    """Import finished minutes (.txt, .md, .docx) as a draft, or accepted with --accept.

    Example: husbot minutes import referat.docx --pilot Narvik --type styringsgruppe --date 2024-03-04 --json
    """
    path = Path(file)
    if path.suffix.lower() not in IMPORTABLE:
        raise click.ClickException(f"{path}: use a .txt, .md or .docx file")
    text = "\n".join(p.text for p in read(path))      # UnreadableFile → one clear line; nothing is stored
    pilots = [normalise_pilot(p) for p in pilots]
    book = _book(ctx)
    rec = book.import_text(text, type=kind, title=title, pilots=pilots or None, day=day, by="cli")
    indexed = None
    if accept:
        rec = book.accept(rec["id"], by="cli")
        indexed = _index(ctx, rec)
    if as_json:
        console.print_json(json.dumps({**_summary(rec), "indexed": indexed}, ensure_ascii=False))
        return
    c = rec["content"]
    state = "godtatt og indeksert" if indexed else ("godtatt" if accept else "utkast")
    console.print(f"Referat #{rec['id']} ({state}): {len(c['decisions'])} vedtak, {len(c['actions'])} oppgaver, "
                  f"{len(c['questions'])} åpne spørsmål")
    for d in c["decisions"]:
        console.print(f"  Vedtak: {d}", markup=False)
    for a in c["actions"]:
        due = a.get("due") or (f"«{a['due_text']}» (sjekk fristen)" if a.get("due_flagged") else a.get("due_text")) or "–"
        console.print(f"  Oppgave: {a['text']} · ansvar: {a.get('owner') or '–'} · frist: {due}", markup=False)


@minutes.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def list_(ctx, as_json):
    """List minutes records, newest meeting first.

    Example: husbot minutes list --json
    """
    recs = _book(ctx).list()
    if as_json:
        console.print_json(json.dumps([_summary(r) for r in recs], ensure_ascii=False))
        return
    tab = Table("ID", "Dato", "Type", "Pilot", "Tittel", "Status", "Vedtak", "Oppgaver")
    for r in recs:
        tab.add_row(str(r["id"]), r["date"][:10], r["type"], ", ".join(r["pilots"]), r["title"], r["status"],
                    str(len(r["content"]["decisions"])), str(len(r["content"]["actions"])))
    console.print(tab)


@minutes.command("export")
@click.argument("minutes_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["md", "docx"]), default="md", show_default=True,
              help="Markdown or Word.")
@click.option("--output", type=click.Path(dir_okay=False), required=True, help="File to write.")
@click.pass_context
def export(ctx, minutes_id, fmt, output):
    """Write one minutes record as Markdown or DOCX.

    Example: husbot minutes export 3 --format docx --output referat-3.docx
    """
    rec = _book(ctx).get(minutes_id)
    if fmt == "md":
        Path(output).write_text(to_markdown(rec), encoding="utf-8")
    else:
        to_docx(rec, output)
    console.print(f"Referat #{rec['id']} skrevet til {output}")


@minutes.command("reindex")
@click.pass_context
def reindex(ctx):
    """Add accepted minutes that are not yet searchable to the index (after an interrupted accept).

    Example: husbot minutes reindex
    """
    todo = _book(ctx).unindexed()
    done = sum(_index(ctx, r) for r in todo)
    console.print(f"Indeksert: {done} av {len(todo)} referat(er)")


@click.group(invoke_without_command=True)
@click.option("--pilot", default=None, help="Only this pilot's action items.")
@click.option("--owner", default=None, help="Only this person's action items (name or @handle).")
@click.option("--all", "show_all", is_flag=True, help="Include items that are done.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def tasks(ctx, pilot, owner, show_all, as_json):
    """Action items from accepted minutes: open ones by default.

    Example: husbot tasks --pilot Narvik
    """
    if ctx.invoked_subcommand:
        return
    items = _book(ctx).tasks(pilot=normalise_pilot(pilot), owner=owner, status=None if show_all else "open")
    if as_json:
        console.print_json(json.dumps(items, ensure_ascii=False))
        return
    if not items:
        console.print("Ingen åpne oppgaver.")
        return
    tab = Table("ID", "Oppgave", "Ansvar", "Frist", "Pilot", "Møte", "Status")
    for a in items:
        due = a["due"] or (f"«{a['due_text']}» ⚠" if a["due_flagged"] else a["due_text"]) or "–"
        tab.add_row(str(a["id"]), a["text"], a["owner"] or "–", due, ", ".join(a["pilots"]),
                    f"{a['minutes_type']} {a['minutes_date'][:10]}", a["status"])
    console.print(tab)


@tasks.command("done")
@click.argument("task_id", type=int)
@click.pass_context
def tasks_done(ctx, task_id):
    """Mark an action item as done.

    Example: husbot tasks done 12
    """
    task = _book(ctx).done(task_id, by="cli")
    console.print(f"Oppgave #{task['id']} er ferdig: {task['text']}")

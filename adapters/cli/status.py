"""`husbot status …`: the monthly status round from the terminal (fields, send, submit, overview, export, reindex).

Each command builds the same Bot the chat surfaces use and calls `bot.status` (the CLI acts as an administrator).
"""
from __future__ import annotations

import json
import tomllib
from datetime import date
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from bot import run_sync
from bot.status import StatusError, StatusInvalid, export_rows, month_label, parse_month, to_csv, to_xlsx
from bot.status.form import render_form

console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _bot(ctx):
    from bot import Bot

    from .main import _knowledge   # why late: main imports this module while it registers commands
    if "bot" not in ctx.obj:
        ctx.obj["bot"] = Bot(_knowledge(ctx))
    return ctx.obj["bot"]


def _month(ctx, param, value):
    if value is None:
        return None
    try:
        return parse_month(value)
    except StatusError:
        raise click.BadParameter(f"'{value}' is not a month; use YYYY-MM") from None


def _day(ctx, param, value):
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a date; use YYYY-MM-DD") from None


@click.group()
def status():
    """The monthly status round: fields, send, submit, overview, export."""


@status.command("fields")
@click.option("--json", "as_json", is_flag=True, help="Print every field with labels, help, kind and required.")
@click.option("--lang", type=click.Choice(["nb", "en"]), default="nb", show_default=True, help="Label language.")
@click.pass_context
def fields(ctx, as_json, lang):
    """List the status form's fields (keys to use in an answers file) and their labels.

    Example: husbot status fields --json
    """
    items = _bot(ctx).status.round.fields
    if as_json:
        console.print_json(json.dumps([f.as_dict() for f in items], ensure_ascii=False))
        return
    tab = Table("Nøkkel", "Felt", "Type", "Påkrevd")
    for f in items:
        tab.add_row(f.key, f.text("label", lang), f.kind, "ja" if f.required else "")
    console.print(tab)


@status.command("send")
@click.option("--month", callback=_month, default=None, help="Month of the round, YYYY-MM (default: this month).")
@click.option("--deadline", callback=_day, default=None,
              help="Deadline, YYYY-MM-DD (default: the configured number of working days after opening).")
@click.pass_context
def send(ctx, month, deadline):
    """Open a status round by hand and prompt the leaders of every pilot that has not answered.

    Prompts that cannot go out from here (no Slack/Teams connection in the terminal) are sent by `husbot serve`.
    Example: husbot status send --month 2025-03 --deadline 2025-03-07
    """
    result = run_sync(_bot(ctx).status.round.start(month, deadline, by="cli"))
    rnd, c = result["round"], result["counts"]
    console.print(f"Statusrunde {rnd['month']} åpnet, frist {rnd['deadline']}. Sendt: {c.get('sent', 0)} · sendt før: "
                  f"{c.get('already', 0)} · venter på husbot serve: {c.get('undeliverable', 0) + c.get('failed', 0)} · "
                  f"piloter uten prosjektleder: {c.get('no_leader', 0)}")


@status.command("submit")
@click.option("--pilot", required=True, help="Pilot the answer is for (Stad, Orkland, Narvik, Lyngdal).")
@click.option("--month", callback=_month, required=True, help="Month, YYYY-MM.")
@click.option("--file", "file_", type=click.Path(exists=True, dir_okay=False), required=True,
              help="TOML file: one line per field, key = \"text\" (see `husbot status fields`).")
@click.option("--by", default="cli", show_default=True, help="Who sent the answer (e.g. the e-mail it came from).")
@click.option("--json", "as_json", is_flag=True, help="Print the stored answer as JSON.")
@click.pass_context
def submit(ctx, pilot, month, file_, by, as_json):
    """Record an answer that arrived another way (e-mail); a new version, flagged late after the deadline.

    Example: husbot status submit --pilot Narvik --month 2025-03 --file narvik-mars.toml
    """
    try:
        data = tomllib.loads(Path(file_).read_text(encoding="utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise click.ClickException(f"{file_}: not a TOML file ({e})") from None
    if isinstance(data.get("status"), dict):      # the answers may also sit under a [status] table
        data = data["status"]
    values = {}
    for key, value in data.items():
        if isinstance(value, (dict, list)):
            raise click.ClickException(f"{file_}: '{key}' must be text or a number, not a table or list")
        values[key] = ("ja" if value else "nei") if isinstance(value, bool) else str(value)
    bot = _bot(ctx)
    try:
        answer = bot.status.round.submit(pilot, month, values, by=by, platform="cli")
    except StatusInvalid as e:
        problems = "; ".join(f"{k}: {m}" for k, m in e.messages("nb").items())
        raise click.ClickException(f"{file_}: {problems}") from None
    indexed = run_sync(bot.status.round.index(answer))
    if as_json:
        console.print_json(json.dumps({**answer, "indexed": indexed}, ensure_ascii=False))
        return
    late = f" – etter fristen {answer['deadline']}, merket som sen" if answer["late"] else ""
    console.print(f"Lagret: {answer['pilot']} {answer['month']} versjon {answer['version']}, "
                  f"{len(answer['answers'])} felt{late}" + ("" if indexed else " (ikke indeksert ennå: kjør "
                                                             "husbot status reindex)"))


@status.command("form")
@click.option("--pilot", required=True, help="Pilot.")
@click.option("--month", callback=_month, required=True, help="Month, YYYY-MM.")
@click.option("--json", "as_json", is_flag=True, help="Print the form data a surface draws from.")
@click.pass_context
def form(ctx, pilot, month, as_json):
    """Show a pilot's form for a month, prefilled, with what changed and the open action items.

    Example: husbot status form --pilot Narvik --month 2025-03
    """
    data = _bot(ctx).status.round.form(pilot, month)
    if as_json:
        console.print_json(json.dumps(data, ensure_ascii=False))
    else:
        console.print(render_form(data), markup=False)


@status.command("overview")
@click.option("--month", callback=_month, required=True, help="Month, YYYY-MM.")
@click.option("--json", "as_json", is_flag=True, help="Print the completeness matrix as JSON.")
@click.pass_context
def overview(ctx, month, as_json):
    """Who answered, answered late or is missing, and which fields are empty or unchanged from last month.

    Example: husbot status overview --month 2025-03 --json
    """
    chat = _bot(ctx).status
    data = chat.overview_data(month)
    if as_json:
        console.print_json(json.dumps(data, ensure_ascii=False))
        return
    tab = Table("Pilot", "Status", "Versjon", "Levert (UTC)", "Tomme felt", "Uendret fra forrige måned",
                title=f"{month_label(month)} · frist {data['deadline']}")
    for row in data["pilots"]:
        tab.add_row(row["pilot"], row["state"], str(row["version"] or ""),
                    (row["submitted_at"] or "")[:16].replace("T", " "), ", ".join(row["empty"]),
                    ", ".join(row["unchanged"]))
    console.print(tab)


@status.command("export")
@click.option("--from", "first", callback=_month, required=True, help="First month, YYYY-MM.")
@click.option("--to", "last", callback=_month, required=True, help="Last month, YYYY-MM.")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True,
              help="CSV or Excel.")
@click.option("--output", type=click.Path(dir_okay=False), default=None,
              help="File to write (CSV default: standard output; XLSX default: status-FROM-TO.xlsx).")
@click.pass_context
def export(ctx, first, last, fmt, output):
    """One row per pilot × month × field, with submitter, timestamps and the late flag.

    Example: husbot status export --from 2025-01 --to 2025-06 --format xlsx --output status.xlsx
    """
    if last < first:
        raise click.BadParameter(f"--to {last} is before --from {first}")
    bot = _bot(ctx)
    rows = export_rows(bot.status.round.book, bot.status.round.fields, first, last, bot.status.round.tz)
    if fmt == "csv":
        text = to_csv(rows)
        if output is None:
            click.echo(text, nl=False)
            return
        Path(output).write_text(text, encoding="utf-8-sig")    # why the BOM: Excel then reads æøå right
    else:
        output = output or f"status-{first}-{last}.xlsx"
        to_xlsx(rows, output)
    err.print(f"{len(rows)} rader skrevet til {output}")


@status.command("reindex")
@click.pass_context
def reindex(ctx):
    """Make stored status answers searchable that an interrupted submission left out.

    Example: husbot status reindex
    """
    done, todo = run_sync(_bot(ctx).status.round.reindex())
    console.print(f"Indeksert: {done} av {todo} statussvar")

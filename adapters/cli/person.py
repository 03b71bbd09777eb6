"""`husbot person …`: what husbot stores about one person — hand it over, or forget it (GDPR)."""
from __future__ import annotations

import json

import click

from bot.privacy import Privacy

LABELS = {"conversations": "samtaler", "answers": "svar", "feedback": "tilbakemeldinger", "people": "personlisten",
          "teams_conversations": "Teams-samtaler", "minutes": "referater", "minutes_messages": "referatmeldinger",
          "minutes_versions": "referatutkast", "action_items": "oppgaver", "status_answers": "statussvar",
          "status_rounds": "statusrunder", "outbox": "utsendte meldinger", "api_tokens": "nøkler"}


def _privacy(ctx) -> Privacy:
    from bot import Bot

    from .main import _knowledge   # why late: main imports this module while it registers commands
    return Privacy(Bot(_knowledge(ctx)))


@click.group()
def person():
    """What husbot stores about a person: export it or forget it."""


@person.command("export")
@click.argument("email")
@click.option("--output", type=click.Path(dir_okay=False), default=None, help="Write the JSON to this file.")
@click.pass_context
def export(ctx, email, output):
    """Everything stored about the person with this e-mail, as JSON.

    Example: husbot person export nora@narvik.no --output nora.json
    """
    data = json.dumps(_privacy(ctx).export(email), ensure_ascii=False, indent=2, default=str)
    if output:
        with open(output, "w", encoding="utf-8") as f:
            f.write(data + "\n")
        click.echo(f"Skrev {output}.", err=True)
    else:
        click.echo(data)


@person.command("forget")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def forget(ctx, email, yes):
    """Delete a person's roster entry, conversations and feedback; anonymise their minutes and status answers.

    Example: husbot person forget nora@narvik.no --yes
    """
    privacy = _privacy(ctx)
    found = privacy.export(email)
    counts = {k: len(v) for k, v in found.items() if isinstance(v, list) and v}
    if not found["roster"] and not counts:
        click.echo(f"Fant ingenting lagret om {email}.")
        return
    what = ", ".join(f"{n} {LABELS.get(k, k)}" for k, n in counts.items())
    click.echo(f"{found['roster']['name'] if found['roster'] else email}: "
               f"{'oppført i personlisten; ' if found['roster'] else ''}{what or 'ingenting annet'}.")
    if not yes:
        click.confirm("Slette og anonymisere dette? Det kan ikke angres", abort=True)
    report = privacy.forget(email)
    for table, n in report["deleted"].items():
        click.echo(f"Slettet {n} fra {LABELS.get(table, table)}.")
    for table, n in report["anonymised"].items():
        click.echo(f"Anonymiserte {n} i {LABELS.get(table, table)} (nå «{report['pseudonym']}»).")
    indexed = report["reindexed"]
    if indexed["minutes"] or indexed["status"]:
        click.echo("Indekserte på nytt: " + ", ".join([f"referat {m}" for m in indexed["minutes"]]
                                                     + [f"status {s}" for s in indexed["status"]]) + ".")
    compacted = privacy.compact()
    if privacy.knowledge.store.backend == "postgresql":
        click.echo(f"PostgreSQL: VACUUM {'kjørt' if compacted else 'feilet'}. Slettede rader kan fortsatt ligge i "
                   "serverens WAL-arkiv og i sikkerhetskopier (pg_dump) til de roterer ut.", err=True)
    elif not compacted:
        click.echo("Databasefilen ble ikke komprimert fordi den er i bruk; kjør kommandoen igjen når husbot serve "
                   "er stoppet, så forsvinner også slettede rader fra ledig plass i filen.", err=True)

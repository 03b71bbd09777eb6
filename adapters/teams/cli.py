"""`husbot teams ...`: send a message to a stored Teams conversation, build the Teams app package."""
from __future__ import annotations

import click

from knowledge import HusbotError, Knowledge, Settings


@click.group()
def teams():
    """Microsoft Teams: send a message unasked, build the app package to upload."""


def _settings(ctx) -> Settings:
    return (ctx.obj or {}).get("settings") or Settings.load()


@teams.command()
@click.option("--to", "to", required=True,
              help="An AAD object id, an e-mail from the roster, a Teams channel id or a conversation id.")
@click.argument("text")
@click.pass_context
def send(ctx, to, text):
    """Post TEXT to a person's chat with husbot or to a channel, using the stored conversation reference.

    Example: husbot teams send --to kari.nordmann@narvik.kommune.no "Husk statusrapporten innen fredag."
    """
    from bot import run_sync

    from .auth import CLOSED, build_adapter, mode
    from .proactive import Proactive, References

    settings = _settings(ctx)
    if mode(settings) == CLOSED:
        raise click.ClickException("Teams is not configured: set MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD")
    obj = ctx.obj if isinstance(ctx.obj, dict) else {}
    knowledge = obj.get("knowledge") or Knowledge(settings)
    try:
        proactive = Proactive(build_adapter(settings), References(knowledge.store.db), settings.microsoft_app_id)
        sent = run_sync(proactive.send(to, text))
    except HusbotError as e:
        raise click.ClickException(str(e)) from None
    except Exception as e:   # the connector refused or could not be reached: one line, not a traceback
        raise click.ClickException(f"Teams did not accept the message: {type(e).__name__}: {e}") from None
    finally:
        if "knowledge" not in obj:
            knowledge.close()
    for conversation in sent:
        click.echo(f"Sendt til {conversation}")


@teams.command()
@click.option("--output", "-o", type=click.Path(dir_okay=False), default="husbot-teams.zip", show_default=True,
              help="Where to write the zip.")
@click.option("--url", default=None, help="Public https base URL of `husbot serve` (default: HUSBOT_PUBLIC_URL).")
@click.pass_context
def package(ctx, output, url):
    """Build the Teams app package (manifest.json and two icons) and check it against the manifest schema.

    Example: husbot teams package --url https://husbot.example.no --output husbot-teams.zip
    """
    from .package import build

    try:
        path = build(_settings(ctx), output, url)
    except HusbotError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"Skrev {path}: last den opp i Teams under Apper → Administrer apper → Last opp en app.")

"""`husbot slack ...`: helpers for installing the Slack app."""
from __future__ import annotations

import json

import click

from knowledge import Settings

from .manifest import manifest


@click.group()
def slack():
    """Set up the Slack app."""


@slack.command("manifest")
@click.option("--url", default=None, help="Public base URL of `husbot serve`, e.g. https://husbot.example.no.")
@click.option("--socket-mode/--http", "socket_mode", default=None,
              help="Socket Mode (no public URL) or HTTP request URLs (default: Socket Mode if SLACK_APP_TOKEN is set).")
@click.option("--format", "fmt", type=click.Choice(["json", "yaml"]), default="json", show_default=True,
              help="Output format.")
@click.pass_context
def manifest_command(ctx, url, socket_mode, fmt):
    """Print the Slack app manifest to paste into api.slack.com/apps ("From a manifest").

    Example: husbot slack manifest --url https://husbot.example.no --format yaml
    """
    settings = (ctx.obj or {}).get("settings") or Settings.load()
    data = manifest(settings, url=url, socket_mode=socket_mode)
    if fmt == "yaml":
        import yaml

        click.echo(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), nl=False)
    else:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))

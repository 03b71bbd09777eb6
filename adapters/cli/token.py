"""`husbot token …`: sign-in tokens for the web dashboard (only a SHA-256 of each token is stored)."""
from __future__ import annotations

import click
from rich.console import Console

from bot.tokens import TOKEN_ROLES, Tokens

console = Console(highlight=False, soft_wrap=True)


def _tokens(ctx) -> Tokens:
    from .main import _knowledge   # why late: main imports this module while it registers commands
    return Tokens(_knowledge(ctx).store.db)


@click.group()
def token():
    """Sign-in tokens for the web dashboard."""


@token.command("create")
@click.option("--role", type=click.Choice(TOKEN_ROLES), required=True, help="What the token may do.")
@click.option("--name", default="", help="Whose token it is (shown in `husbot token list`).")
@click.pass_context
def create(ctx, role, name):
    """Create a token and print it once; only its SHA-256 hash is stored.

    Example: husbot token create --role evaluator --name "Oxford Research"
    """
    tid, value = _tokens(ctx).create(role, name)
    click.echo(value)
    click.echo(f"Token #{tid} ({role}) er laget. Den vises bare nå; ta vare på den.", err=True)


@token.command("list")
@click.pass_context
def list_(ctx):
    """List tokens (id, role, name, revoked) without their values.

    Example: husbot token list
    """
    for r in _tokens(ctx).list():
        state = "trukket tilbake" if r["revoked_at"] else "aktiv"
        console.print(f"#{r['id']} {r['role']} {r['name'] or '–'} ({state})", markup=False)


@token.command("revoke")
@click.argument("token_id", type=int)
@click.pass_context
def revoke(ctx, token_id):
    """Revoke a token so it no longer signs in.

    Example: husbot token revoke 3
    """
    _tokens(ctx).revoke(token_id)
    console.print(f"Token #{token_id} er trukket tilbake.")

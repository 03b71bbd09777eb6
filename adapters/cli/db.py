"""`husbot migrate` and `husbot db copy`: the database's schema, and moving a data folder between SQLite and
PostgreSQL."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from knowledge import HusbotError


def _settings(ctx):
    return ctx.obj["settings"]


@click.command()
@click.option("--check", "check_only", is_flag=True,
              help="Only say whether migrations are pending (exit 1 if so); apply nothing.")
@click.pass_context
def migrate(ctx, check_only):
    """Apply the numbered schema migrations to the configured database (SQLite or PostgreSQL).

    Prints the schema version before and after. Every start migrates by itself; run this as a deploy step before
    starting several servers on one database.
    Example: HUSBOT_DATABASE_URL=postgresql://husbot@db/husbot husbot migrate --check
    """
    from knowledge.migrate import migrate as apply, status

    from .main import console

    s = _settings(ctx)
    if check_only:
        found = status(s.home, s.database_url)
        if found.pending:
            console.print(f"{found.database}: skjema {found.before}, denne husbot har {found.known}: "
                          f"{found.pending} migrering(er) venter; kjør `husbot migrate`", markup=False)
            sys.exit(1)
        console.print(f"{found.database}: skjema {found.before}, oppdatert", markup=False)
        return
    found = apply(s.home, s.database_url)
    if found.after == found.before:
        console.print(f"{found.database}: skjema {found.after}, allerede oppdatert", markup=False)
    else:
        console.print(f"{found.database}: skjema {found.before} → {found.after}", markup=False)


@click.group()
def db():
    """The database itself: copy a data folder between SQLite and PostgreSQL."""


def _open(ctx, url: str, role: str):
    """The store a --from/--to URL names; a source must exist (opening it must not create an empty one)."""
    from knowledge import datafolder
    from knowledge.postgres import is_postgres_url
    from knowledge.store import open_store

    home = Path(_settings(ctx).home)
    if not (is_postgres_url(url) or url.startswith("sqlite:///")):
        raise click.ClickException(f"--{role} must be sqlite:///path/to/folder or postgresql://…, not "
                                   f"{url.split(':', 1)[0] or url!r}")
    if role == "from" and not is_postgres_url(url) and not datafolder.database_path(home, url).exists():
        raise click.ClickException(f"{datafolder.database_path(home, url)}: no husbot database to copy from")
    return open_store(home, url)


@db.command("copy")
@click.option("--from", "src_url", required=True, metavar="URL",
              help="Copy from: sqlite:///path/to/folder (or …/husbot.db) or postgresql://user@host/name.")
@click.option("--to", "dst_url", required=True, metavar="URL",
              help="Into this empty database: sqlite:///path/to/folder or postgresql://user@host/name.")
@click.pass_context
def copy(ctx, src_url, dst_url):
    """Copy every row (documents, passages, embeddings, minutes, status rounds, roster…) into an empty database,
    without re-embedding; the target is migrated first, and refused when it already holds data.

    One transaction on the target: a failed copy leaves it empty. The search indexes are rebuilt from the target at
    the next start. Example: husbot db copy --from sqlite:///var --to postgresql://husbot@db.example.no/husbot
    """
    from knowledge import datafolder
    from knowledge.dbcopy import copy_store
    from knowledge.postgres import is_postgres_url, psycopg

    from .main import console, err

    home = Path(_settings(ctx).home)
    src = _open(ctx, src_url, "from")
    try:
        dst = _open(ctx, dst_url, "to")
    except BaseException:
        src.close()
        raise
    try:
        if str(src.path) == str(dst.path):
            raise click.ClickException(f"--from and --to are the same database ({src.path})")
        console.print(f"Kopierer {src.path} → {dst.path}", markup=False)
        last = [time.perf_counter()]

        def on_table(table: str, rows: int) -> None:
            now = time.perf_counter()
            console.print(f"  {table}: {rows} rader ({now - last[0]:.2f} s)", markup=False)
            last[0] = now

        link_home = None if is_postgres_url(src_url) else datafolder.database_path(home, src_url).parent
        try:
            with err.status("Kopierer …"):
                report = copy_store(src, dst, on_table=on_table, home=link_home)
        except psycopg.Error as e:   # why here: a server-side refusal is one line, not a traceback
            raise HusbotError(f"{dst.path}: {(str(e).strip().splitlines() or [type(e).__name__])[0]}") from None
        console.print(f"Kopierte {report.rows} rader i {len(report.tables)} tabeller på {report.seconds:.1f} s; "
                      "ingenting ble embeddet på nytt. Søkeindeksene bygges fra databasen ved neste start.",
                      markup=False)
    finally:
        src.close()
        dst.close()

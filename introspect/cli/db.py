"""``introspect db upgrade``: apply migrations and set up LangGraph's checkpointer tables."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape

from introspect.cli.preflight import require_database
from introspect.config import get_settings
from introspect.db.migrate import seed_gate_profiles, upgrade_all
from introspect.db.preflight import redacted

app = typer.Typer(help="Database schema management.", no_args_is_help=True)
console = Console()


@app.command("upgrade")
def upgrade_command() -> None:
    """Create or upgrade every table (ours via Alembic, LangGraph's via its checkpointer)."""
    url = get_settings().resolved_database_url
    require_database(url, need_tables=False)
    try:
        upgrade_all(url)
        seed_gate_profiles(url)
    except Exception as exc:  # a CLI error naming the problem, not a traceback
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        console.print(f"[red]error:[/red] could not upgrade {escape(redacted(url))}: {escape(first_line)}")
        raise typer.Exit(code=1) from exc
    console.print(f"[green]database is up to date[/green]: {escape(redacted(url))}")

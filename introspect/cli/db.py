"""``introspect db upgrade``: apply migrations and set up LangGraph's checkpointer tables."""

from __future__ import annotations

import typer
from rich.console import Console
from sqlalchemy.engine import make_url

from introspect.config import get_settings
from introspect.db.migrate import seed_gate_profiles, upgrade_all

app = typer.Typer(help="Database schema management.", no_args_is_help=True)
console = Console()


@app.command("upgrade")
def upgrade_command() -> None:
    """Create or upgrade every table (ours via Alembic, LangGraph's via its checkpointer)."""
    url = get_settings().resolved_database_url
    try:
        upgrade_all(url)
        seed_gate_profiles(url)
    except Exception as exc:  # a CLI error naming the problem, not a traceback
        console.print(f"[red]error:[/red] could not upgrade {_redact(url)}: {exc}")
        raise typer.Exit(code=1) from exc
    console.print(f"[green]database is up to date[/green]: {_redact(url)}")


def _redact(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)

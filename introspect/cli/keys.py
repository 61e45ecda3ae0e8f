"""``introspect keys create``: issue an API key (printed once, stored hashed)."""

from __future__ import annotations

import typer
from rich.console import Console

from introspect.cli.preflight import require_database
from introspect.config import get_settings
from introspect.store.engine import make_engine, make_session_factory, transaction
from introspect.store.repositories.api_keys import create_api_key

app = typer.Typer(help="API key management.", no_args_is_help=True)
console = Console()


@app.command("create")
def create_command(name: str = typer.Option("default", help="A label to recognise the key by.")) -> None:
    """Create an API key; the plaintext is shown once and never stored."""
    url = get_settings().resolved_database_url
    require_database(url)
    engine = make_engine(url)
    try:
        with transaction(make_session_factory(engine)) as session:
            issued = create_api_key(session, name)
            key_id = issued.record.id
    finally:
        engine.dispose()
    console.print(f"created key [bold]{name}[/bold] ({key_id}); store it now, it is not shown again:")
    print(issued.plaintext)

"""``introspect serve``: the API (and, with no Redis configured, the in-process worker)."""

from __future__ import annotations

import logging

import typer
import uvicorn
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from introspect.api.auth import is_loopback
from introspect.cli.model_check import require_local_model
from introspect.cli.preflight import fail, require_database
from introspect.config import get_settings
from introspect.db.migrate import seed_gate_profiles, upgrade_all
from introspect.db.preflight import redacted
from introspect.store.engine import make_engine, make_session_factory, transaction
from introspect.store.repositories.api_keys import has_api_keys

console = Console()


def serve_command(
    host: str | None = typer.Option(None, help="Address to bind (default from INTROSPECT_HOST: 127.0.0.1)."),
    port: int | None = typer.Option(
        None, help="Port (default from INTROSPECT_PORT: 8000).", min=1, max=65535
    ),
) -> None:
    """Run the REST API and admin view; embedded mode (no Redis) runs jobs in this process."""
    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    url = settings.resolved_database_url
    require_database(url, need_tables=not settings.embedded)
    if settings.embedded:
        try:  # zero configuration: the SQLite file is created and migrated on first start
            upgrade_all(url)
            seed_gate_profiles(url)
        except (SQLAlchemyError, OSError) as exc:
            fail(f"could not create or upgrade the database {redacted(url)}: {exc}".splitlines()[0])
        require_local_model(settings)  # this process runs the jobs: a model that cannot load stops here
    if not is_loopback(host) and not settings.api_keys and not _db_has_keys(url):
        console.print(
            f"[red]error:[/red] refusing to bind {host}: no API key is configured, so the API would be open "
            "to the network. Create one with `introspect keys create` or set INTROSPECT_API_KEYS, "
            "or bind 127.0.0.1."
        )
        raise typer.Exit(code=2)
    from introspect.api.app import create_app

    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    mode = "embedded (SQLite/in-process worker)" if settings.embedded else "distributed (Redis + workers)"
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    console.print(f"Introspect {mode}")
    console.print(f"  API docs:   http://{shown}:{port}/docs")
    console.print(f"  Admin view: http://{shown}:{port}/admin")
    app = create_app(settings.model_copy(update={"host": host, "port": port}), bound_host=host)
    uvicorn.run(app, host=host, port=port, log_level=settings.log_level.lower(), timeout_graceful_shutdown=30)


def _db_has_keys(url: str) -> bool:
    engine = make_engine(url)
    try:
        with transaction(make_session_factory(engine)) as session:
            return has_api_keys(session)
    except Exception:
        return False
    finally:
        engine.dispose()

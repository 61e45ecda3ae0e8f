"""Entry point of the ``introspect`` console script."""

from __future__ import annotations

import sys
from typing import Any

import typer

from introspect.cli import db, eval, export, gate, keys, models, run, serve, train, worker
from introspect.config import SettingsError


class _Introspect(typer.Typer):
    """Settings the environment gets wrong end any command with one line and exit status 2."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except SettingsError as exc:
            print(f"introspect: {exc}", file=sys.stderr)
            raise SystemExit(2) from None


app = _Introspect(
    name="introspect",
    help="Make LLM agents check and improve their own answers.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db.app, name="db")
app.add_typer(keys.app, name="keys")
app.add_typer(models.app, name="models")
app.add_typer(gate.app, name="gate")
app.command("serve")(serve.serve_command)
app.command("worker")(worker.worker_command)
app.command("export")(export.export_command)
app.command("train")(train.train_command)
app.command("eval")(eval.eval_command)
run.register(app)


if __name__ == "__main__":
    app()

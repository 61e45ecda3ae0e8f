"""Entry point of the ``introspect`` console script."""

from __future__ import annotations

import typer

from introspect.cli import db, eval, export, gate, keys, run, serve, train, worker

app = typer.Typer(
    name="introspect",
    help="Make LLM agents check and improve their own answers.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db.app, name="db")
app.add_typer(keys.app, name="keys")
app.add_typer(gate.app, name="gate")
app.command("serve")(serve.serve_command)
app.command("worker")(worker.worker_command)
app.command("export")(export.export_command)
app.command("train")(train.train_command)
app.command("eval")(eval.eval_command)
run.register(app)


if __name__ == "__main__":
    app()

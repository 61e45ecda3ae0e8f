"""The runner: parse a job, run its graph with a fenced recorder, write the outcome.

The worker and the CLI call :func:`execute_job` / :func:`create_and_run_inline`; the API calls
:func:`validate_job_request` and :func:`trajectory_resource`. Importing this package loads neither
torch nor the graphs.
"""

from __future__ import annotations

from introspect.runner.checkpointer import make_checkpointer
from introspect.runner.context import GraphContext, ModelProvider, RunOptions, Scorer
from introspect.runner.deps import RunnerDeps
from introspect.runner.errors import JobValidationError, RunCancelled
from introspect.runner.execute import JobOutcome, execute_job
from introspect.runner.graphs import GRAPHS
from introspect.runner.inline import create_and_run_inline, run_inline
from introspect.runner.model_provider import DefaultModelProvider, default_model_provider
from introspect.runner.resource import trajectory_resource, trajectory_schema
from introspect.runner.spec import JobSpec, parse_job, validate_job_request

__all__ = [
    "GRAPHS",
    "DefaultModelProvider",
    "GraphContext",
    "JobOutcome",
    "JobSpec",
    "JobValidationError",
    "ModelProvider",
    "RunCancelled",
    "RunOptions",
    "RunnerDeps",
    "Scorer",
    "create_and_run_inline",
    "default_model_provider",
    "execute_job",
    "make_checkpointer",
    "parse_job",
    "run_inline",
    "trajectory_resource",
    "trajectory_schema",
    "validate_job_request",
]

"""Settings: the only reader of environment variables (prefix ``INTROSPECT_``).

Every value has an embedded default so that ``introspect serve`` works with zero configuration:
SQLite under ``./.introspect/``, no Redis (in-process worker), and SmolLM2-135M-Instruct from the
model cache (``introspect models pull smollm2-135m-instruct``; ``scripts/serve.sh`` pulls it).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path(".introspect")


def _default_model_cache() -> Path:
    return Path.home() / ".cache" / "introspect" / "models"


class RemoteModelSpec(BaseModel):
    """An OpenAI-compatible endpoint (vLLM, Ollama, OpenAI) known to the service by a short name."""

    base_url: str
    model: str
    api_key: SecretStr | None = None
    top_logprobs: int = Field(default=20, ge=0, le=20)
    timeout_s: float = 60.0
    # The model's vocabulary size bounds the entropy of the tokens outside the returned top-k; None:
    # a generous 262,144 (the bounds stay valid, only looser). SmolLM2: 49152, Llama 3: 128256.
    vocab_size: int | None = Field(default=None, ge=2)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="INTROSPECT_", env_nested_delimiter="__", extra="ignore", frozen=True
    )

    # Storage ------------------------------------------------------------------------------------
    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default is a SQLite file under data_dir."
    )
    redis_url: str | None = Field(default=None, description="None = embedded in-process mode.")

    # Models ---------------------------------------------------------------------------------------
    model_path: str | None = Field(
        default=None,
        description="The local model: a catalog name (smollm2-135m-instruct, demo), a transformers "
        "directory, a .gguf file or a directory holding one; None = smollm2-135m-instruct.",
    )
    model_cache_dir: Path = Field(
        default_factory=_default_model_cache, description="Where `introspect models pull` converts models."
    )
    chat_template: Path | None = Field(
        default=None, description="A Jinja chat template file for a tokenizer that has none."
    )
    prompts_dir: Path | None = Field(
        default=None,
        description="A directory of .prompt files replacing the built-in templates of the same name.",
    )
    model_device: str = "auto"
    model_dtype: str = "auto"
    # The local model decodes the concurrent calls of a worker process's jobs together
    # (introspect.models.batching); false serialises them behind a lock. max_batch_size counts
    # rows (Best-of-N's n candidates are n rows); max_wait_ms is how long an idle model lets a first
    # call wait for others. Defaults from bench/local_batching.py (see README, "Sizing concurrency").
    local_batching: bool = True
    local_max_batch_size: int = Field(default=8, ge=1, le=256)
    local_max_wait_ms: float = Field(default=0.0, ge=0, le=1000)
    remote_models: dict[str, RemoteModelSpec] = Field(
        default_factory=dict, description="Named OpenAI-compatible endpoints, JSON in the environment."
    )
    generator_model: str = "local"
    critic_model: str | None = None
    escalation_model: str | None = None

    # API ------------------------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8000
    api_keys: list[SecretStr] = Field(
        default_factory=list, description="Bootstrap API keys accepted besides those stored hashed."
    )
    max_body_bytes: int = 1_000_000
    rate_limit_per_minute: int = 600
    # Wrong API keys (bearer or admin login) per client address and minute; past it a 429 answers
    # without the database lookup a key check costs.
    auth_failures_per_minute: int = Field(default=20, ge=1)
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host names answered besides localhost/127.0.0.1/[::1] (DNS rebinding defence, "
        "api/hosts.py); empty = any host once an API key exists, loopback names only without one.",
    )
    session_secret: SecretStr | None = None

    # Workers --------------------------------------------------------------------------------------
    worker_concurrency: int = 4
    # ``introspect worker`` processes; each holds its own database pools (about concurrency + 3
    # connections), so raise it with the database's max_connections in mind.
    worker_processes: int = Field(default=1, ge=1, le=64)
    lease_seconds: float = Field(default=30.0, gt=0)
    # At most a third of the lease (checked below): a renewal may fail or come late once and the
    # lease still holds; a heartbeat near the lease let another worker claim a live job.
    heartbeat_seconds: float = Field(default=5.0, gt=0)
    sweep_seconds: float = 5.0
    # How often a worker asks, in one query for all its jobs, whether one was cancelled: a running
    # job stops at its first node boundary after that (instead of one query per node boundary).
    cancel_poll_seconds: float = Field(default=0.1, gt=0)
    max_attempts: int = 3
    queue_name: str = "introspect:jobs"
    # How often arq looks at its queue. Jobs normally start from the wake list at once; this only
    # bounds the delay of one whose wake-up was lost (a worker stopping as it popped it).
    arq_poll_seconds: float = Field(default=0.1, gt=0)

    # Python verifier checks (user code, hostile by default; see introspect/verifiers/sandbox.py).
    # Each check runs under bubblewrap; without it the verifier refuses unless this unsafe opt-in
    # is set (then a check runs as the worker's user with rlimits only).
    unsafe_python_checks_without_isolation: bool = False
    python_check_bwrap: str = Field(default="bwrap", description="The bubblewrap executable.")
    # At most this many checks run at once in one worker process, and their memory limits (times
    # the processes each may have) add up to at most the budget; others wait their turn.
    python_check_max_concurrent: int = Field(default=2, ge=1, le=64)
    python_check_memory_budget_mb: int = Field(default=1024, ge=64)
    python_check_queue_timeout_s: float = Field(default=120.0, gt=0)
    # RLIMIT_NPROC of a check: 1 = no process or thread besides its own.
    python_check_max_processes: int = Field(default=1, ge=1, le=64)
    # The uid/gid a check runs as when the worker is root (nobody).
    python_check_uid: int = Field(default=65534, ge=1)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @model_validator(mode="after")
    def _heartbeat_well_below_the_lease(self) -> Settings:
        if self.heartbeat_seconds > self.lease_seconds / 3:
            raise ValueError(
                f"INTROSPECT_HEARTBEAT_SECONDS ({self.heartbeat_seconds:g}) must be at most a third of "
                f"INTROSPECT_LEASE_SECONDS ({self.lease_seconds:g}), or a live worker's lease can expire "
                "and its job run twice"
            )
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'introspect.db').as_posix()}"

    @property
    def embedded(self) -> bool:
        """Embedded mode: no Redis, jobs run in the serving process."""
        return self.redis_url is None


class SettingsError(ValueError):
    """The environment's settings cannot be used; the message is one line (the CLI prints it)."""


def settings_problem(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        message = str(error["msg"]).removeprefix("Value error, ")
        where = "_".join(str(part) for part in error["loc"]).upper()
        problems.append(f"INTROSPECT_{where}: {message}" if where else message)
    return "invalid settings: " + "; ".join(problems)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError(settings_problem(exc)) from None

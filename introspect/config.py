"""Settings: the only reader of environment variables (prefix ``INTROSPECT_``).

Every value has an embedded default so that ``introspect serve`` works with zero configuration:
SQLite under ``./.introspect/``, no Redis (in-process worker), and the bundled demo model.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path(".introspect")


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
    model_path: Path | None = Field(
        default=None, description="Local transformers model directory; None = the bundled demo model."
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
    lease_seconds: float = 30.0
    heartbeat_seconds: float = 5.0
    sweep_seconds: float = 5.0
    # How often a worker asks, in one query for all its jobs, whether one was cancelled: a running
    # job stops at its first node boundary after that (instead of one query per node boundary).
    cancel_poll_seconds: float = Field(default=0.1, gt=0)
    max_attempts: int = 3
    queue_name: str = "introspect:jobs"
    # How often arq looks at its queue. Jobs normally start from the wake list at once; this only
    # bounds the delay of one whose wake-up was lost (a worker stopping as it popped it).
    arq_poll_seconds: float = Field(default=0.1, gt=0)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'introspect.db').as_posix()}"

    @property
    def embedded(self) -> bool:
        """Embedded mode: no Redis, jobs run in the serving process."""
        return self.redis_url is None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

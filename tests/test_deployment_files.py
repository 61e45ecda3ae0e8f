"""docker-compose.yml cannot run here (no Docker engine), so its structure is checked by reading."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_compose_services_healthchecks_and_ordering() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "migrate", "api", "worker"}
    for name in ("postgres", "redis", "api"):
        assert "healthcheck" in services[name], name
    for name in ("api", "worker"):
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        env = services[name]["environment"]
        assert env["INTROSPECT_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert env["INTROSPECT_REDIS_URL"].startswith("redis://")
    assert services["migrate"]["command"] == ["introspect", "db", "upgrade"]
    assert services["worker"]["command"] == ["introspect", "worker"]
    for name in ("migrate", "api", "worker"):
        assert services[name]["build"] == "."


def test_long_running_services_restart_and_the_migration_does_not() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for name in ("api", "worker"):
        assert services[name].get("restart") in ("unless-stopped", "always", "on-failure"), name
    assert services["migrate"]["restart"] == "no"  # a failed migration must stop the stack, not loop


def test_dockerfile_installs_cpu_torch_before_the_project() -> None:
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    torch = next(i for i, line in enumerate(lines) if "torch==2.13.0" in line)
    project = next(i for i, line in enumerate(lines) if "pip install -c constraints.txt" in line)
    assert torch < project
    for path in ("introspect", "graphs", "prompts", "migrations"):
        assert any(line.startswith(f"COPY {path} ") for line in lines), path
    # The default model is in the image, pulled by the user the services run as.
    pull = lines.index("RUN introspect models pull smollm2-135m-instruct")
    assert pull > project and pull > lines.index("USER introspect")


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "bash scripts/test.sh" in readme and "bash scripts/serve.sh" in readme
    assert "scripts/test.sh" in (ROOT / ".ci" / "run").read_text()


def test_the_image_and_the_worker_can_run_the_python_check_sandbox() -> None:
    """bubblewrap in the image and on a fresh machine; the worker allowed to create namespaces."""
    assert "bubblewrap" in (ROOT / "Dockerfile").read_text()
    assert "apt_install bubblewrap" in (ROOT / "scripts" / "bootstrap.sh").read_text()
    worker = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["worker"]
    assert "seccomp=unconfined" in worker["security_opt"]
    assert "systempaths=unconfined" in worker["security_opt"]

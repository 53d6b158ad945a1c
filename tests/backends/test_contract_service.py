"""Services generated from OpenAPI specs: they build, pass their own generated suite (every
operation called, every reply checked against the contract, collections persisting), serve
the input contract exactly, and pass validate's static, tests and contract tiers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from tests_support import OPENAPI_SPECS, VALID_OPENAPI_SPECS

from autocoder.cli.service import ensure_service_python
from autocoder.frontend.openapi.compare import differences
from autocoder.ir.endpoints import service_endpoints
from autocoder.ir.models import IR

SPECS = OPENAPI_SPECS
BUILT = list(VALID_OPENAPI_SPECS)


def run(command: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, check=False, timeout=600
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("contract-services")
    out = {}
    for name in BUILT:
        target = root / name.split(".")[0]
        done = run(
            [
                sys.executable,
                "-m",
                "autocoder",
                "build",
                str(SPECS / name),
                "-o",
                str(target),
                "--no-validate",
            ]
        )
        assert done.returncode == 0, name + ": " + done.stderr[-3000:]
        out[name] = target
    return out


@pytest.fixture(scope="module")
def service_python(built: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    cached = os.environ.get("AUTOCODER_SERVICE_VENV")
    venv_dir = Path(cached) if cached else tmp_path_factory.mktemp("service-venv") / "venv"
    return ensure_service_python(built["petstore-crud.yaml"] / "service", venv_dir)


def spec_data(name: str) -> dict[str, object]:
    text = (SPECS / name).read_text(encoding="utf-8")
    return json.loads(text) if name.endswith(".json") else YAML(typ="safe").load(text)


@pytest.mark.slow
@pytest.mark.parametrize("name", BUILT)
def test_the_generated_suite_passes(
    built: dict[str, Path], service_python: Path, name: str
) -> None:
    service = built[name] / "service"
    suite = run([str(service_python), "-m", "pytest", "-q", "-p", "no:cacheprovider"], service)
    assert suite.returncode == 0, suite.stdout[-4000:] + suite.stderr[-2000:]
    summary = suite.stdout.strip().splitlines()[-1]
    operations = sum(
        1
        for item in spec_data(name)["paths"].values()  # type: ignore[attr-defined]
        for method in item
        if method in ("get", "put", "post", "delete", "options", "head", "patch", "trace")
    )
    assert "passed" in summary
    # one contract test per operation (some skipped with a reason, e.g. a multipart body)
    listed = run(
        [
            str(service_python),
            "-m",
            "pytest",
            "-q",
            "--collect-only",
            "-p",
            "no:cacheprovider",
            "tests/test_contract_api.py",
        ],
        service,
    )
    cases = [line for line in listed.stdout.splitlines() if "test_each_operation" in line]
    assert len(cases) == operations, listed.stdout[-2000:]


@pytest.mark.slow
@pytest.mark.parametrize("name", BUILT)
def test_the_served_contract_is_the_input(
    built: dict[str, Path], service_python: Path, name: str, tmp_path: Path
) -> None:
    ir = IR.model_validate_json((built[name] / "ir.v1.json").read_text(encoding="utf-8"))
    document = service_endpoints(ir).openapi  # moved aside when the contract has the path
    script = (
        "import json, os\n"
        "from fastapi.testclient import TestClient\n"
        "from app.main import create_app\n"
        "with TestClient(create_app()) as client:\n"
        f"    print('SERVED ' + json.dumps(client.get({document!r}).json()))\n"
    )
    env = {
        **os.environ,
        "AUTOCODER_ENV": "dev",
        "DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
        "API_KEYS": "k",
        "JWT_SECRET": "s" * 32,
        "MIGRATE_ON_START": "true",
        "LOG_LEVEL": "warning",
    }
    done = subprocess.run(
        [str(service_python), "-W", "ignore", "-c", script],
        cwd=built[name] / "service",
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("SERVED "))
    served = json.loads(line.removeprefix("SERVED "))
    assert differences(spec_data(name), served) == []
    assert served == spec_data(name)
    assert list(served["paths"]) == list(spec_data(name)["paths"])  # in the author's order


@pytest.mark.slow
def test_validate_passes_the_static_tests_and_contract_tiers(
    built: dict[str, Path], service_python: Path
) -> None:
    out = built["petstore-crud.yaml"]
    env = {**os.environ, "AUTOCODER_SERVICE_VENV": str(service_python.parents[1])}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "autocoder",
            "validate",
            str(out),
            "--tier",
            "static",
            "--tier",
            "tests",
            "--tier",
            "contract",
            "--tier",
            "blueprint",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=900,
    )
    report = json.loads(done.stdout)
    assert done.returncode == 0, json.dumps(report["findings"], indent=1)[-3000:]
    contract = next(t for t in report["tiers"] if t["tier"] == "contract")
    assert contract["metrics"]["requests"] > 50


@pytest.mark.slow
def test_own_endpoints_a_contract_claims_move_aside_in_every_layer(built: dict[str, Path]) -> None:
    out = built["service-paths.yaml"]
    deployment = (out / "deploy" / "kubernetes" / "base" / "deployment.yaml").read_text()
    container = YAML(typ="safe").load(deployment)["spec"]["template"]["spec"]["containers"][0]
    probes = {k: v["httpGet"]["path"] for k, v in container.items() if k.endswith("Probe")}
    assert probes == {
        "startupProbe": "/_service/healthz",
        "livenessProbe": "/_service/healthz",
        "readinessProbe": "/readyz",
    }
    assert "/_service/healthz'" in (out / "deploy" / "Dockerfile").read_text()
    values = YAML(typ="safe").load(
        (out / "deploy" / "helm" / "uptime-checks" / "values.yaml").read_text()
    )
    assert values["serviceMonitor"]["path"] == "/_service/metrics"
    assert values["probes"]["liveness"]["path"] == "/_service/healthz"

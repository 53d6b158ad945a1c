"""The generated service: it passes our own gates (ruff, bandit, its own test suite on SQLite and
PostgreSQL), regenerates byte for byte, protects edited and user-owned files, and runs."""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests_support import require_service

from autocoder.cli.main import cli
from autocoder.cli.service import ensure_service_python

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p.parent.name for p in (ROOT / "examples").glob("*/architecture.yaml"))
GOLDEN = ROOT / "tests" / "golden" / "service" / "todo-api"


def build(source: Path, out: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli, ["build", str(source), "-o", str(out), "--no-validate", *extra]
    )
    return result.exit_code, result.output


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every example built once per test session: name -> OUT."""
    root = tmp_path_factory.mktemp("built")
    out = {}
    for name in EXAMPLES:
        code, output = build(ROOT / "examples" / name, root / name)
        assert code == 0, output
        out[name] = root / name
    return out


def run(command: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env},
        timeout=600,
    )


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_generated_code_passes_ruff_and_bandit(built: dict[str, Path], name: str) -> None:
    service = built[name] / "service"
    lint = run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], service)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    fmt = run([sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."], service)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
    bandit = run(
        [sys.executable, "-m", "bandit", "-q", "-r", "app", "-c", "pyproject.toml"], service
    )
    assert bandit.returncode == 0, bandit.stdout + bandit.stderr


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_generated_suite_passes_on_sqlite(built: dict[str, Path], name: str) -> None:
    result = run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly"], built[name] / "service"
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout, result.stdout[-2000:]


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    require_service("127.0.0.1", 5432, "PostgreSQL")
    import psycopg

    name = f"autocoder_{uuid.uuid4().hex[:12]}"
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.services
@pytest.mark.parametrize("name", EXAMPLES)
def test_the_generated_suite_passes_on_postgresql(
    built: dict[str, Path], name: str, postgres_database: str
) -> None:
    result = run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly"],
        built[name] / "service",
        DATABASE_URL=postgres_database,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and ".pytest_cache" not in p.parts
    }


def test_regeneration_is_byte_identical(tmp_path: Path) -> None:
    source = ROOT / "examples" / "order-pipeline"
    assert build(source, tmp_path / "a")[0] == 0
    assert build(source, tmp_path / "b")[0] == 0
    first, second = _tree(tmp_path / "a" / "service"), _tree(tmp_path / "b" / "service")
    assert first.keys() == second.keys()
    assert [p for p in first if first[p] != second[p]] == []
    manifest = json.loads(first[".autocoder/manifest.json"])
    assert "app/main.py" in manifest["files"]
    assert len(manifest["files"]["app/main.py"]) == 64  # sha256 hex


def test_edited_files_are_reported_and_user_files_never_touched(tmp_path: Path) -> None:
    source, out = ROOT / "examples" / "todo-api", tmp_path / "out"
    assert build(source, out)[0] == 0
    main, logic = out / "service" / "app" / "main.py", out / "service" / "app" / "logic" / "api.py"
    assert logic.read_text() == (source / "logic" / "api.py").read_text()
    main.write_text(main.read_text() + "# edited by hand\n")
    logic.write_text(logic.read_text() + "# my change\n")

    code, output = build(source, out)
    assert code == 2
    assert "AC0002" in output and "app/main.py" in output and "edited" in output
    assert main.read_text().endswith("# edited by hand\n")  # not overwritten

    code, output = build(source, out, "--force")
    assert code == 0, output
    assert not main.read_text().endswith("# edited by hand\n")
    assert logic.read_text().endswith("# my change\n")  # user-owned: never overwritten


def test_unwritten_custom_logic_says_so_at_call_time(tmp_path: Path) -> None:
    """Generated from the IR alone (no shipped logic): the route answers 501 naming the file."""
    out = tmp_path / "out"
    compiled = CliRunner().invoke(
        cli, ["compile", str(ROOT / "examples" / "todo-api"), "-o", str(out)]
    )
    assert compiled.exit_code == 0, compiled.output
    generated = CliRunner().invoke(cli, ["generate", str(out), "-o", str(out)])
    assert generated.exit_code == 0, generated.output
    assert "app/logic/api.py (yours" in generated.output
    probe = (
        "from fastapi.testclient import TestClient\n"
        "from app.main import create_app\n"
        "with TestClient(create_app(), headers={'X-API-Key': 'k'}) as client:\n"
        "    r = client.get('/v1/todos/stats')\n"
        "    print(r.status_code, r.json()['error']['message'])\n"
    )
    result = run(
        [sys.executable, "-c", probe],
        out / "service",
        API_KEYS="k",
        DATABASE_URL=f"sqlite:///{tmp_path}/probe.db",
        LOG_LEVEL="error",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].startswith("501 "), result.stdout
    assert "get_todo_stats() in app/logic/api.py" in result.stdout
    suite = run([sys.executable, "-m", "pytest", "-q", "-rs"], out / "service")
    assert suite.returncode == 0, suite.stdout[-3000:]
    assert "custom logic not written yet: app/logic/api.py get_todo_stats()" in suite.stdout


def test_golden_tree_of_todo_api(tmp_path: Path, update_golden: bool) -> None:
    """The generated todo-api service, file by file (the runtime copy is tested on its own)."""
    assert build(ROOT / "examples" / "todo-api", tmp_path / "out")[0] == 0
    service = tmp_path / "out" / "service"
    tree = {
        path: content
        for path, content in _tree(service).items()
        if not path.startswith(("app/runtime/", ".autocoder/"))
    }
    if update_golden:
        shutil.rmtree(GOLDEN, ignore_errors=True)
        for path, content in tree.items():
            (GOLDEN / path).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / path).write_bytes(content)
    expected = _tree(GOLDEN)
    assert sorted(tree) == sorted(expected), "file set changed; rerun with --update-golden"
    changed = [p for p in tree if tree[p] != expected[p]]
    assert changed == [], f"{changed} differ; review and rerun with --update-golden"


def test_the_runtime_is_copied_verbatim(built: dict[str, Path]) -> None:
    copied = built["todo-api"] / "service" / "app" / "runtime"
    original = ROOT / "autocoder" / "runtime"
    names = sorted(p.name for p in original.glob("*.py"))
    assert sorted(p.name for p in copied.glob("*.py")) == names
    _, mismatch, errors = filecmp.cmpfiles(original, copied, names, shallow=False)
    assert mismatch == [] and errors == []


# --- a fresh virtual environment, `autocoder run`, real HTTP -------------------------------------


@pytest.fixture(scope="session")
def service_python(built: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One fresh venv per test session with the generated service's dependencies (from its own
    pyproject), shared by every example; AUTOCODER_SERVICE_VENV reuses a cached one."""
    cached = os.environ.get("AUTOCODER_SERVICE_VENV")
    venv_dir = Path(cached) if cached else tmp_path_factory.mktemp("service-venv") / "venv"
    return ensure_service_python(built["todo-api"] / "service", venv_dir)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _request(
    method: str, url: str, body: object = None, key: str = "", header: str = "X-API-Key"
) -> tuple[int, dict[str, object] | None]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - loopback
    request.add_header("Content-Type", "application/json")
    if key:
        request.add_header(header, key)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


@pytest.mark.slow
@pytest.mark.parametrize("name", EXAMPLES)
def test_fresh_venv_suite_and_autocoder_run_over_real_http(
    built: dict[str, Path], service_python: Path, name: str, tmp_path: Path
) -> None:
    service = built[name] / "service"
    suite = run([str(service_python), "-m", "pytest", "-q"], service)
    assert suite.returncode == 0, suite.stdout[-4000:] + suite.stderr[-2000:]

    port, key = _free_port(), "e2e-key"
    env = {**os.environ, "API_KEYS": key, "DATABASE_URL": f"sqlite:///{tmp_path}/run.db"}
    command = [sys.executable, "-m", "autocoder", "run", str(built[name])]
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [*command, "--port", str(port), "--python", str(service_python)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if _request("GET", base + "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        ready: tuple[int, object] = (0, None)
        while time.monotonic() < deadline:  # readiness is polled, as a kubelet does
            ready = _request("GET", base + "/readyz")
            if ready[0] == 200:
                break
            time.sleep(0.5)
        assert ready[0] == 200, ready
        status, document = _request("GET", base + "/openapi.json")
        assert status == 200 and document is not None
        header = document["components"]["securitySchemes"]["ApiKeyAuth"]["name"]  # type: ignore[index]
        for path, item in document["paths"].items():  # type: ignore[union-attr]
            for method, operation in item.items():
                if "{" in path or method != "get":
                    continue
                assert _request("GET", base + path)[0] == 401, path  # no key
                status, body = _request("GET", base + path, key=key, header=header)
                assert status == 200, (path, body, operation["operationId"])
        if name == "todo-api":
            status, todo = _request("POST", base + "/v1/todos", {"title": "Ship it"}, key)
            assert status == 201 and todo is not None
            item_url = f"{base}/v1/todos/{todo['id']}"
            assert _request("GET", item_url, key=key) == (200, todo)
            status, stats = _request("GET", base + "/v1/todos/stats", key=key)
            assert status == 200 and stats is not None and stats["open"] == 1
            assert _request("DELETE", item_url, key=key)[0] == 204
        metrics = urllib.request.urlopen(base + "/metrics", timeout=10).read().decode()  # noqa: S310
        assert "http_requests_total" in metrics
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)
        log.close()
    output = (tmp_path / "server.log").read_text()
    assert server.returncode == 0, output[-3000:]
    assert '"message": "stopped"' in output  # the lifespan drained and closed cleanly


def test_bad_sources_get_a_diagnostic_and_nothing_is_written(tmp_path: Path) -> None:
    missing = CliRunner().invoke(
        cli, ["generate", str(tmp_path / "nope"), "-o", str(tmp_path / "a")]
    )
    assert missing.exit_code == 2 and "AC0001" in missing.output
    future = tmp_path / "future.json"
    future.write_text('{"ir_version": "9.0"}')
    newer = CliRunner().invoke(cli, ["generate", str(future), "-o", str(tmp_path / "b")])
    assert newer.exit_code == 1 and "AC6001" in newer.output
    nothing = CliRunner().invoke(cli, ["run", str(tmp_path / "c")])
    assert nothing.exit_code == 2 and "holds no generated service" in nothing.output
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    assert "Traceback" not in missing.output + newer.output + nothing.output

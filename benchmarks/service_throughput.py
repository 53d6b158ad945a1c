"""Requests/s and latency of the generated todo service against a hand-written baseline.

The generated service is built from a copy of ``examples/todo-api`` whose ``api`` component has
no ``capabilities`` (its 50 req/s rate limit would otherwise be what gets measured). The
baseline is ``benchmarks/baseline_todo/app.py``: FastAPI + SQLAlchemy 2 (async ORM, aiosqlite)
with the same routes, status codes, models and API-key check. Both run with the same uvicorn
command (one worker, no access log) on a fresh SQLite file, one after the other, alternating
(generated, baseline, then baseline, generated, ...).

The load comes from a separate process: keep-alive HTTP/1.1 over asyncio streams on
``--connections`` connections. It seeds 200 todos, then sends 60% ``GET /v1/todos/{id}`` (a
seeded id), 20% ``GET /v1/todos?limit=20`` and 20% ``POST /v1/todos``, for a warm-up and then
``--seconds`` measured seconds. Requests/s counts the expected answers (200, 200, 201) that
arrive in the measured phase; any other answer, or a broken connection, is an error: reported,
and the exit status is 1. Latencies are of every answer of the measured phase; "server CPU" is
the server process's CPU time (all threads) in that phase per answer. With two or more CPUs the
server is pinned to one and the load to another (``taskset``), unless ``--no-pin``.

    python benchmarks/service_throughput.py                  # 2 rounds, 32 connections, 10 s
    python benchmarks/service_throughput.py --seconds 5 --rounds 1 --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from array import array
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "todo-api"
BASELINE = Path(__file__).resolve().parent / "baseline_todo"
API_KEY = "bench-key"
SEED_TODOS = 200
MIX = (("get", 0.6), ("list", 0.2), ("create", 0.2))
EXPECTED = {"seed": 201, "get": 200, "list": 200, "create": 201}
REQUEST_TIMEOUT = 10.0  # seconds; a request without an answer by then is an error
AIM = 0.9  # generated requests/s over baseline requests/s


@dataclass(frozen=True)
class Target:
    """One service under test: where uvicorn starts and which app factory it loads."""

    name: str
    cwd: Path
    factory: str


@dataclass(frozen=True)
class LoadConfig:
    """What the load process does against one running server."""

    port: int
    connections: int
    warmup: float
    seconds: float
    server_pid: int
    cpu: int | None


@dataclass
class LoadResult:
    """What the load process measured; latencies in milliseconds."""

    requests: int = 0
    errors: int = 0
    warmup_errors: int = 0
    rps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    by_kind: dict[str, int] = field(default_factory=dict)
    p99_ms_by_kind: dict[str, float] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)
    server_cpu_ms_per_request: float | None = None
    load_cpu_share: float = 0.0


@dataclass
class Run:
    """One measured run of one service."""

    service: str
    round: int
    result: LoadResult


# ----------------------------------------------------------------------------- load generator


class Connection:
    """One keep-alive HTTP/1.1 connection: send a prepared request, read one response."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def send(self, request: bytes) -> tuple[int, bytes]:
        """The status and body of the response to ``request`` (reconnecting when needed)."""
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        self.writer.write(request)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        chunked, keep_alive = False, True
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                keep_alive = b"close" not in value.lower()
        body = await self._chunked() if chunked else await self.reader.readexactly(length)
        if not keep_alive:
            self.close()
        return status, body

    async def _chunked(self) -> bytes:
        assert self.reader is not None
        parts: list[bytes] = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)


def http_request(port: int, method: str, path: str, body: Any = None) -> bytes:
    """The bytes of one request with the API key (and a JSON body when given)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"X-API-Key: {API_KEY}"]
    payload = b""
    if body is not None:
        payload = json.dumps(body).encode()
        lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process, all threads (Linux ``/proc``); None elsewhere."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (0 for an empty one)."""
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


async def seed(port: int, count: int) -> list[bytes]:
    """Create ``count`` todos on 8 connections; the prepared GET request of each."""
    ids: list[str] = []

    async def create(n: int) -> None:
        conn = Connection(port)
        for i in range(n):
            request = http_request(port, "POST", "/v1/todos", {"title": f"seeded todo {i}"})
            status, body = await conn.send(request)
            if status != EXPECTED["seed"]:
                raise RuntimeError(f"seeding failed: HTTP {status} {body[:200]!r}")
            ids.append(json.loads(body)["id"])
        conn.close()

    await asyncio.gather(*(create(count // 8 + (i < count % 8)) for i in range(8)))
    return [http_request(port, "GET", f"/v1/todos/{todo_id}") for todo_id in ids]


async def generate_load(config: LoadConfig) -> LoadResult:
    """Seed, warm up, then measure ``config.seconds`` of the mixed workload."""
    port = config.port
    gets = await seed(port, SEED_TODOS)
    fixed = {
        "list": http_request(port, "GET", "/v1/todos?limit=20"),
        "create": http_request(port, "POST", "/v1/todos", {"title": "benchmark todo"}),
    }
    kinds = [kind for kind, _ in MIX]
    weights = [weight for _, weight in MIX]
    latencies = {kind: array("d") for kind in kinds}
    result = LoadResult(by_kind=dict.fromkeys(kinds, 0))
    start = time.perf_counter()
    measure_from = start + config.warmup
    measure_to = measure_from + config.seconds

    def error(measured: bool, text: str) -> None:
        if measured:
            result.errors += 1
        else:
            result.warmup_errors += 1
        if len(result.error_samples) < 5:
            result.error_samples.append(text)

    async def client(index: int) -> None:
        rng = random.Random(index)
        conn = Connection(port)
        while (now := time.perf_counter()) < measure_to:
            kind = rng.choices(kinds, weights)[0]
            request = rng.choice(gets) if kind == "get" else fixed[kind]
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT):
                    status, body = await conn.send(request)
            except (OSError, EOFError, ValueError, asyncio.IncompleteReadError) as exc:
                conn.close()
                error(time.perf_counter() >= measure_from, f"{kind}: {type(exc).__name__}: {exc}")
                continue
            done = time.perf_counter()
            measured = measure_from <= done <= measure_to
            if status != EXPECTED[kind]:
                error(done >= measure_from, f"{kind}: HTTP {status} {body[:120]!r}")
            elif measured:
                result.requests += 1
                result.by_kind[kind] += 1
            if measured:
                latencies[kind].append((done - now) * 1000)
        conn.close()

    async def meter() -> tuple[float | None, float | None, float]:
        await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
        cpu_before, load_before = process_cpu_seconds(config.server_pid), time.process_time()
        await asyncio.sleep(max(0.0, measure_to - time.perf_counter()))
        cpu_after, load_after = process_cpu_seconds(config.server_pid), time.process_time()
        return cpu_before, cpu_after, load_after - load_before

    metering = asyncio.create_task(meter())
    await asyncio.gather(*(client(i) for i in range(config.connections)))
    cpu_before, cpu_after, load_cpu = await metering
    ordered = sorted(value for values in latencies.values() for value in values)
    result.p99_ms_by_kind = {kind: percentile(sorted(v), 0.99) for kind, v in latencies.items()}
    result.rps = result.requests / config.seconds
    result.p50_ms = percentile(ordered, 0.50)
    result.p99_ms = percentile(ordered, 0.99)
    result.load_cpu_share = load_cpu / config.seconds
    if cpu_before is not None and cpu_after is not None and result.requests:
        result.server_cpu_ms_per_request = (cpu_after - cpu_before) * 1000 / result.requests
    return result


def run_load(config: LoadConfig) -> LoadResult:
    """Entry point of the load process (pinned to ``config.cpu`` when given)."""
    if config.cpu is not None:
        os.sched_setaffinity(0, {config.cpu})
    return asyncio.run(generate_load(config))


# ------------------------------------------------------------------------------ the services


def build_generated(workdir: Path) -> Path:
    """Generate the todo service without the api rate limit; returns its ``service/`` folder."""
    from ruamel.yaml import YAML

    blueprint = workdir / "todo-api"
    shutil.copytree(EXAMPLE, blueprint)
    yaml = YAML()
    yaml.preserve_quotes = True
    architecture = blueprint / "architecture.yaml"
    data = yaml.load(architecture)
    del data["components"]["api"]["capabilities"]
    yaml.dump(data, architecture)
    autocoder = Path(sys.executable).with_name("autocoder")
    command = [str(autocoder if autocoder.exists() else "autocoder")]
    out = workdir / "build"
    done = subprocess.run(
        [*command, "build", str(blueprint), "-o", str(out)], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"autocoder build failed:\n{done.stdout}{done.stderr}")
    service = out / "service"
    if "RateLimiter(" in (service / "app" / "api" / "api.py").read_text():
        raise SystemExit("the generated api still has a rate limit")
    return service


def free_port() -> int:
    """A TCP port of 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_healthy(port: int, server: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Poll ``GET /healthz`` until it answers 200; fail if the server exits or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with code {server.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"no healthy answer within {timeout:g}s")


def measure(
    target: Target, database: Path, args: argparse.Namespace, cpus: list[int]
) -> LoadResult:
    """Start ``target`` on a fresh database, run the load against it, stop it."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AUTOCODER_"))}
    env |= {
        "API_KEYS": API_KEY,
        "LOG_LEVEL": "warning",
        "DATABASE_URL": f"sqlite:///{database}",
        "AUTOCODER_ENV": "dev",
    }
    command = [sys.executable, "-m", "uvicorn", "--factory", target.factory]
    command += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    if cpus:
        command = ["taskset", "-c", str(cpus[0]), *command]
    log = database.with_suffix(".log")
    with log.open("wb") as out:
        server = subprocess.Popen(command, cwd=target.cwd, env=env, stdout=out, stderr=out)
    try:
        wait_healthy(port, server)
        config = LoadConfig(
            port=port,
            connections=args.connections,
            warmup=args.warmup,
            seconds=args.seconds,
            server_pid=server.pid,
            cpu=cpus[1] if cpus else None,
        )
        with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
            return pool.submit(run_load, config).result()
    except Exception as exc:
        tail = log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"{target.name}: {exc}\n--- server output ---\n{tail}") from exc
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# ---------------------------------------------------------------------------------- report


def summary(runs: list[Run], service: str) -> dict[str, Any]:
    """Median figures of one service over its runs; errors are summed."""
    results = [run.result for run in runs if run.service == service]
    cpu = [r.server_cpu_ms_per_request for r in results if r.server_cpu_ms_per_request]
    return {
        "rps": statistics.median(r.rps for r in results),
        "p50_ms": statistics.median(r.p50_ms for r in results),
        "p99_ms": statistics.median(r.p99_ms for r in results),
        "errors": sum(r.errors + r.warmup_errors for r in results),
        "server_cpu_ms_per_request": statistics.median(cpu) if cpu else None,
    }


def table(runs: list[Run], medians: dict[str, dict[str, Any]]) -> str:
    def row(label: str, service: str, figures: dict[str, Any]) -> str:
        cpu = figures["server_cpu_ms_per_request"]
        return (
            f"| {label} | {service} | {figures['rps']:,.0f} | {figures['p50_ms']:.1f} "
            f"| {figures['p99_ms']:.1f} | {figures['errors']} "
            f"| {'-' if cpu is None else f'{cpu:.2f}'} |"
        )

    lines = [
        "| run | service | requests/s | p50 (ms) | p99 (ms) | errors | server CPU ms/request |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run in runs:
        figures = asdict(run.result)
        figures["errors"] = run.result.errors + run.result.warmup_errors
        lines.append(row(f"round {run.round}", run.service, figures))
    for service, figures in medians.items():
        lines.append(row("median", service, figures))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per run")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each service")
    parser.add_argument("--no-pin", action="store_true", help="do not pin server and load")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    if args.connections < 1 or args.rounds < 1 or args.seconds <= 0 or args.warmup < 0:
        parser.error("--connections and --rounds must be >= 1, --seconds > 0, --warmup >= 0")

    available = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    pin = not args.no_pin and len(available) >= 2 and shutil.which("taskset") is not None
    cpus = available[:2] if pin else []

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="service-throughput-") as tmp:
        workdir = Path(tmp)
        say("building examples/todo-api without the api rate limit (capabilities removed)")
        targets = {
            "generated": Target("generated", build_generated(workdir), "app.main:create_app"),
            "baseline": Target("baseline", BASELINE, "app:create_app"),
        }
        for round_ in range(1, args.rounds + 1):
            order = ["generated", "baseline"] if round_ % 2 else ["baseline", "generated"]
            for name in order:
                database = workdir / f"{name}-{round_}.db"
                result = measure(targets[name], database, args, cpus)
                runs.append(Run(name, round_, result))
                say(
                    f"round {round_} {name}: {result.rps:,.0f} requests/s, "
                    f"p99 {result.p99_ms:.1f} ms, errors {result.errors + result.warmup_errors}"
                )

    medians = {name: summary(runs, name) for name in ("generated", "baseline")}
    ratio = medians["generated"]["rps"] / medians["baseline"]["rps"]
    errors = sum(m["errors"] for m in medians.values())
    setup = {
        "connections": args.connections,
        "warmup_s": args.warmup,
        "seconds": args.seconds,
        "rounds": args.rounds,
        "pinned_cpus": {"server": cpus[0], "load": cpus[1]} if cpus else None,
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "workload": {"seed": SEED_TODOS, "mix": dict(MIX)},
        "generated_rate_limit": "removed (api capabilities deleted from a copy of the example)",
    }
    if args.json:
        report = {
            "setup": setup,
            "runs": [{"service": r.service, "round": r.round, **asdict(r.result)} for r in runs],
            "median": medians,
            "ratio_rps": ratio,
            "aim_met": ratio >= AIM,
            "errors": errors,
        }
        print(json.dumps(report, indent=2))
        raise SystemExit(1 if errors else 0)
    pinned = f"server on CPU {cpus[0]}, load on CPU {cpus[1]}" if cpus else "not pinned"
    print(
        f"{args.connections} connections, {args.warmup:g} s warm-up + {args.seconds:g} s measured "
        f"per run, {args.rounds} round(s), {pinned}; generated service without its rate limit"
    )
    print(table(runs, medians))
    verdict = f"aim >= {AIM} met" if ratio >= AIM else f"below the aim of {AIM}"
    print(f"ratio generated/baseline (requests/s): {ratio:.2f} ({verdict})")
    if errors:
        samples = [s for r in runs for s in r.result.error_samples][:5]
        print(f"ERRORS: {errors} failed requests, e.g. {samples}")
    shares = [r.result.load_cpu_share for r in runs]
    if max(shares) > 0.9:
        print(f"warning: the load generator used {max(shares):.0%} of a CPU (it may limit)")
    raise SystemExit(1 if errors else 0)


if __name__ == "__main__":
    main()

"""Generation time per spec in a warm process: what each generator itself costs, without the
interpreter's start and the imports that every command-line run pays again.

Run by benchmarks/openapi_corpus.py with each tool's own interpreter (this file needs only the
standard library and the tool): one process per tool generates every spec of the sample in
turn, after one warm-up spec, and prints one JSON object per spec:
{"spec", "ok", "error", "seconds", "phases"}.

    python warm_generation.py ours WORK SPEC...   # compile + the Python service (+ phases)
    python warm_generation.py peer WORK SPEC...   # fastapi-code-generator, as its CLI does
"""

from __future__ import annotations

import json
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

TIMEOUT = 120  # seconds per spec


class _Timeout(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise _Timeout(f"timed out after {TIMEOUT} s")


def ours(spec: Path, out: Path) -> dict[str, float]:
    """Compile, generate the service (the peer's scope), then the deployment package and its
    gate (beyond the peer's scope), timing each; the service tree is written to ``out``."""
    from autocoder.backends.deploy import deploy_drafts
    from autocoder.backends.deploy.gate import check_package, drafts_by_path
    from autocoder.backends.deploy.model import targets
    from autocoder.backends.python_service import service_drafts
    from autocoder.compiler import compile_source

    phases: dict[str, float] = {}
    start = time.perf_counter()
    result = compile_source(spec)
    if result.ir is None or not result.ok:
        errors = [d for d in result.sink.diagnostics if d.severity == "error"]
        raise RuntimeError(f"compile: {errors[0].code.id}: {errors[0].message}" if errors else "")
    phases["compile"] = time.perf_counter() - start
    start = time.perf_counter()
    service = service_drafts(result.ir)
    for draft in service:
        path = out / draft.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(draft.content)
    phases["service"] = time.perf_counter() - start
    start = time.perf_counter()
    deploy = deploy_drafts(result.ir)
    report = check_package(targets(result.ir), drafts_by_path([*service, *deploy]))
    if report.failed:
        raise RuntimeError(f"gate: {report.findings[0].message}")
    phases["deploy+gate"] = time.perf_counter() - start
    return phases


def peer(spec: Path, out: Path) -> dict[str, float]:
    """fastapi-code-generator's command, called in this process."""
    from fastapi_code_generator.cli import app

    start = time.perf_counter()
    app(["--input", str(spec), "--output", str(out / "app")], standalone_mode=False)
    return {"generate": time.perf_counter() - start}


def main(argv: list[str]) -> int:
    tool, work, specs = argv[0], Path(argv[1]), [Path(p) for p in argv[2:]]
    generate = {"ours": ours, "peer": peer}[tool]
    signal.signal(signal.SIGALRM, _alarm)
    for index, spec in enumerate([specs[0], *specs] if specs else []):
        out = work / f"{tool}-{index}"
        row: dict[str, Any] = {"spec": str(spec), "warmup": index == 0, "ok": False}
        signal.alarm(TIMEOUT)
        start = time.perf_counter()
        try:
            row["phases"] = generate(spec, out)
            row["ok"] = True
        except (Exception, SystemExit) as exc:  # every failure is a row, never the end
            lines = traceback.format_exception_only(type(exc), exc)
            row["error"] = (lines[-1] if lines else repr(exc)).strip()[:300]
        finally:
            signal.alarm(0)
        row["seconds"] = time.perf_counter() - start
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

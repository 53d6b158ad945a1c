"""How long `autocoder validate` takes on each example: cold (every tier runs) and warm (the
inputs are unchanged, so passing tiers come from the cache), with the per-tier split.

The service's virtual environment is made before the clock starts (it is made once per machine
and reused); "cold" means no validation cache. Baseline in the same run: the service's own
`pytest` suite alone, which is what a team without the gate would run.

    PATH=.ci/tools/bin:$PATH python benchmarks/validate_time.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ("todo-api", "order-pipeline", "telemetry-alerts")


def autocoder(
    *args: str | Path, env: dict[str, str]
) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "autocoder", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    return time.perf_counter() - start, result


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from autocoder.cli.service import ensure_service_python

    venv = os.environ.get("AUTOCODER_SERVICE_VENV") or str(
        Path(tempfile.gettempdir()) / "autocoder-bench-service-venv"
    )
    env = {**os.environ, "AUTOCODER_SERVICE_VENV": venv}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in EXAMPLES:
            out = Path(tmp) / name
            _, built = autocoder("generate", ROOT / "examples" / name, "-o", out, env=env)
            assert built.returncode == 0, built.stderr
            python = ensure_service_python(out / "service", Path(venv))
            start = time.perf_counter()
            suite = subprocess.run(
                [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                cwd=out / "service",
                capture_output=True,
                text=True,
                check=False,
            )
            pytest_s = time.perf_counter() - start
            cold_s, cold = autocoder("validate", out, "--format", "json", env=env)
            warm_s, warm = autocoder("validate", out, "--format", "json", env=env)
            report = json.loads(cold.stdout)
            tiers = {t["tier"]: round(t["seconds"], 1) for t in report["tiers"]}
            rows.append((name, cold_s, warm_s, pytest_s, report["ok"], warm.returncode, tiers))
            shutil.rmtree(out, ignore_errors=True)
            del suite
    print("| example | validate cold (s) | validate warm (s) | service pytest alone (s) | ok |")
    print("| --- | ---: | ---: | ---: | --- |")
    for name, cold_s, warm_s, pytest_s, ok, warm_code, _ in rows:
        print(
            f"| {name} | {cold_s:.1f} | {warm_s:.1f} | {pytest_s:.1f} | {ok and warm_code == 0} |"
        )
    print()
    for name, *_, tiers in rows:
        print(f"{name}: " + ", ".join(f"{t} {s} s" for t, s in tiers.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

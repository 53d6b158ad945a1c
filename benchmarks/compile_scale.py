"""Compile synthetic systems of 10 .. 5,000 components; report time and peak memory.

Each size runs in a fresh subprocess (so peak RSS is that size's own); imports happen before
the clock starts. Side by side, the baseline is ruamel.yaml's safe loader (libyaml-backed) on
the same file: the floor any YAML-based tool pays before checking anything. The compile time
covers load, schema, lowering, all passes, suppressions and the canonical IR text with its hash.

    python benchmarks/compile_scale.py                 # 10 100 1000 5000, 3 runs each
    python benchmarks/compile_scale.py --sizes 10 100 --runs 1
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# One "stage" = 5 components: api -> (emit) transformer -> filter -> store sink + store + log.
STAGE = 5


def synthetic_architecture(components: int) -> str:
    stages = max(1, components // STAGE)
    lines = [
        "schema_version: 1",
        "system: {name: synthetic, version: 1.0.0}",
        "types:",
        "  Event:",
        "    properties:",
        "      id: {type: string, format: uuid, readOnly: true}",
        "      name: {type: string, minLength: 1}",
        "      value: {type: number, minimum: 0}",
        "    required: [id, name, value]",
        "  EventInput:",
        "    properties:",
        "      name: {type: string, minLength: 1}",
        "      value: {type: number, minimum: 0}",
        "    required: [name, value]",
        "components:",
    ]
    bindings = ["bindings:"]
    for i in range(stages):
        lines += [
            f"  api-{i}:",
            "    kind: api",
            "    outputs: {received: {type: EventInput}}",
            "    config:",
            "      routes:",
            f"        - {{method: POST, path: /events{i}, operation_id: post{i}, "
            f"request: EventInput, emit: received}}",
            f"        - {{method: GET, path: '/events{i}/{{id}}', operation_id: get{i}, "
            f"call: store-{i}.get}}",
            f"  enrich-{i}:",
            "    kind: transformer",
            "    inputs: {in: {type: EventInput}}",
            "    outputs: {out: {type: EventInput}}",
            "    config: {set: {value: 'msg.value * 2.0'}}",
            "    capabilities: {timeout: 2s, retry: {attempts: 3}}",
            f"  check-{i}:",
            "    kind: filter",
            "    inputs: {in: {type: EventInput}}",
            "    outputs: {accepted: {type: EventInput}}",
            "    config: {condition: 'msg.value < 1000.0'}",
            f"  write-{i}:",
            "    kind: sink",
            "    inputs: {in: {type: EventInput}}",
            f"    config: {{store: {{component: store-{i}}}}}",
            f"  store-{i}:",
            "    kind: store",
            "    config: {entity: Event, filters: [name]}",
        ]
        bindings += [
            f"  - {{from: api-{i}.received, to: enrich-{i}.in}}",
            f"  - {{from: enrich-{i}.out, to: check-{i}.in, qos: {{buffer: 128}}}}",
            f"  - {{from: check-{i}.accepted, to: write-{i}.in}}",
        ]
    return "\n".join(lines + bindings) + "\n"


def run_one(components: int, mode: str) -> dict[str, float]:
    """In a child: time one compile (or the YAML baseline) of a synthetic system."""
    from ruamel.yaml import YAML

    from autocoder.compiler import compile_source

    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp)
        text = synthetic_architecture(components)
        (source / "architecture.yaml").write_text(text, encoding="utf-8")
        start = time.perf_counter()
        if mode == "baseline":
            YAML(typ="safe", pure=False).load(text)
            ok = True
        else:
            result = compile_source(source)
            ok = result.ok
            if ok:
                result.ir_text()
        elapsed = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": elapsed, "peak_mib": peak_kib / 1024, "ok": float(ok)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000, 5000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="compile", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(run_one(args.one, args.mode)))
        return 0
    print(
        "| components | compile median (s) | compile peak RSS (MiB) | "
        "baseline YAML load (s) | compile / baseline | ok |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | --- |")
    for size in args.sizes:
        samples: dict[str, list[dict[str, float]]] = {"compile": [], "baseline": []}
        for _ in range(args.runs):
            for mode in samples:
                out = subprocess.run(
                    [sys.executable, __file__, "--one", str(size), "--mode", mode],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                samples[mode].append(json.loads(out.stdout))
        compile_s = statistics.median(s["seconds"] for s in samples["compile"])
        base_s = statistics.median(s["seconds"] for s in samples["baseline"])
        peak = max(s["peak_mib"] for s in samples["compile"])
        ok = all(s["ok"] for s in samples["compile"])
        print(
            f"| {size:,} | {compile_s:.3f} | {peak:.0f} | {base_s:.3f} | "
            f"{compile_s / base_s:.1f}x | {'yes' if ok else 'NO'} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

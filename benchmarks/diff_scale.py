"""Time ``autocoder diff BASE HEAD`` on two 1,000-component blueprints that differ in a few places.

BASE is the synthetic system of ``compile_scale.py`` (api -> transformer -> filter -> store
sink -> store stages) with a two-environment deployment; HEAD removes one route, narrows one
field, changes the port of one environment and bumps the major version. Timed in one process,
after a warm-up run (imports, first-use schema loading, the CEL parser): each side's compile as
the diff does it (``load_side``), the compare alone (``compare`` plus locating every change in
its file) and the whole command (``diff_task``, both compiles included); then the whole command
with BASE given as its compiled IR file (``ir.v1.json``: one compile fewer) and, for reference,
``autocoder diff BASE HEAD`` from the shell (a fresh process each time).

    python benchmarks/diff_scale.py                    # 1,000 components, 5 runs
    python benchmarks/diff_scale.py --components 200 --runs 3
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from compile_scale import synthetic_architecture  # noqa: E402

from autocoder.cli.diff import diff_task  # noqa: E402
from autocoder.compiler import compile_source  # noqa: E402
from autocoder.diff.report import Entry  # noqa: E402
from autocoder.diff.rules import compare  # noqa: E402
from autocoder.diff.sources import load_side  # noqa: E402

DEPLOYMENT = """\
schema_version: 1
system: synthetic
environments:
  dev:
    replicas: 1
    port: 8080
  prod:
    replicas: 1
    port: 8080
"""
# (what HEAD changes, the text in BASE, its replacement); each must occur exactly once
EDITS = (
    (
        "a removed route",
        "        - {method: GET, path: '/events7/{id}', operation_id: get7, call: store-7.get}\n",
        "",
    ),
    (
        "a narrowed field",
        "  EventInput:\n    properties:\n      name: {type: string, minLength: 1}\n",
        "  EventInput:\n    properties:\n      name: {type: string, minLength: 1, maxLength: 64}\n",
    ),
    (
        "a changed port",
        "  prod:\n    replicas: 1\n    port: 8080\n",
        "  prod:\n    replicas: 1\n    port: 9090\n",
    ),
    (
        "a major version",
        "system: {name: synthetic, version: 1.0.0}",
        "system: {name: synthetic, version: 2.0.0}",
    ),
)


def write_sides(root: Path, components: int) -> tuple[Path, Path]:
    base, head = root / "base", root / "head"
    texts = {"architecture.yaml": synthetic_architecture(components), "deployment.yaml": DEPLOYMENT}
    for side in (base, head):
        side.mkdir()
    for name, text in texts.items():
        (base / name).write_text(text, encoding="utf-8")
        for what, old, new in EDITS:
            if old in text:
                assert text.count(old) == 1, what
                text = text.replace(old, new)
        (head / name).write_text(text, encoding="utf-8")
    for what, old, _ in EDITS:
        assert any(old in t for t in texts.values()), f"{what}: not found in the blueprints"
    return base, head


T = TypeVar("T")


def timed(func: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    value = func()
    return time.perf_counter() - start, value


def one_run(base: Path, base_ir: Path, head: Path, work: Path) -> dict[str, float]:
    """One in-process measurement of every phase; checks the diff found what HEAD changed."""
    row: dict[str, float] = {}
    row["compile BASE"], base_side = timed(lambda: load_side(str(base), work))
    row["compile HEAD"], head_side = timed(lambda: load_side(str(head), work))
    assert base_side.ir is not None and head_side.ir is not None, "a side does not compile"
    old, new = base_side.ir, head_side.ir

    def classify() -> list[Entry]:
        return [
            Entry(c, base_side.locate(c.base), head_side.locate(c.head)) for c in compare(old, new)
        ]

    row["compare"], entries = timed(classify)
    found = {e.change.rule.id for e in entries}
    assert {"api-route-removed", "type-constraint-narrowed", "deploy-port-changed"} <= found, found
    row["changes"] = float(len(entries))
    with contextlib.redirect_stdout(io.StringIO()):
        row["whole command"], code = timed(
            lambda: diff_task(
                str(base), str(head), fail_on="breaking", fmt="text", as_changelog=False
            )
        )
    assert code == 1, f"diff exited {code}, expected 1 (breaking changes)"
    with contextlib.redirect_stdout(io.StringIO()):
        row["whole command, BASE as ir.v1.json"], code = timed(
            lambda: diff_task(
                str(base_ir), str(head), fail_on="breaking", fmt="text", as_changelog=False
            )
        )
    assert code == 1, f"diff exited {code}, expected 1 (breaking changes)"
    return row


def shell_run(base: Path, head: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "autocoder", "diff", str(base), str(head)],
        capture_output=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    assert done.returncode == 1, done.stderr.decode()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--components", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-shell", action="store_true", help="skip the fresh-process runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="diff-scale-") as tmp:
        root = Path(tmp)
        base, head = write_sides(root, args.components)
        work = root / "work"
        work.mkdir()
        compiled = compile_source(base)
        assert compiled.ok, "BASE does not compile"
        base_ir = root / "ir.v1.json"
        base_ir.write_text(compiled.ir_text(), encoding="utf-8")
        first = one_run(base, base_ir, head, work)  # warm-up: imports and first-use costs
        rows = [one_run(base, base_ir, head, work) for _ in range(args.runs)]
        shell = [] if args.no_shell else [shell_run(base, head) for _ in range(args.runs)]
    print(
        f"{args.components:,} components, {int(first['changes'])} changes found; "
        f"median of {args.runs} runs in one process after a warm-up run\n"
    )
    print("| phase | median (s) | min (s) | max (s) | warm-up run (s) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    phases = (
        "compile BASE",
        "compile HEAD",
        "compare",
        "whole command",
        "whole command, BASE as ir.v1.json",
    )
    for phase in phases:
        samples = [r[phase] for r in rows]
        print(
            f"| {phase} | {statistics.median(samples):.3f} | {min(samples):.3f} | "
            f"{max(samples):.3f} | {first[phase]:.3f} |"
        )
    if shell:
        print(
            f"| `autocoder diff` from the shell (fresh process) | {statistics.median(shell):.3f} "
            f"| {min(shell):.3f} | {max(shell):.3f} | - |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

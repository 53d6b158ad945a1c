"""The deployment package against the linters platform teams run, beside `helm create`.

For each example, and for the chart `helm create` writes (the usual starting point of a
hand-made chart), in one run:

- the time Autocoder takes to generate the package and to gate it (schemas, policy packs,
  hadolint, cross-layer; then with helm and kubectl when they are on PATH);
- the findings of our policy pack on every rendered environment;
- where checkov is available (``--checkov PATH``), checkov's failed checks on the same
  rendered manifests and Dockerfile, by check id.

    PATH=.ci/tools/bin:$PATH python benchmarks/deploy_gate.py --checkov /path/to/checkov
"""

from __future__ import annotations

import argparse
import collections
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autocoder.backends.deploy import deploy_drafts, kubernetes  # noqa: E402
from autocoder.backends.deploy.gate import check_package  # noqa: E402
from autocoder.backends.deploy.model import targets  # noqa: E402
from autocoder.backends.deploy.yamlout import dump_all, load_all  # noqa: E402
from autocoder.backends.python_service import service_drafts  # noqa: E402
from autocoder.compiler import compile_source  # noqa: E402
from autocoder.policy import kubernetes_pack  # noqa: E402

EXAMPLES = ("todo-api", "order-pipeline", "telemetry-alerts")


def checkov(binary: str | None, folder: Path) -> collections.Counter[str] | None:
    if binary is None:
        return None
    result = subprocess.run(
        [binary, "-d", str(folder), "--framework", "kubernetes", "dockerfile", "-o", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    reports = json.loads(result.stdout)
    counts: collections.Counter[str] = collections.Counter()
    for report in reports if isinstance(reports, list) else [reports]:
        for failed in report.get("results", {}).get("failed_checks", []):
            counts[failed["check_id"]] += 1
        counts["_passed"] += report.get("summary", {}).get("passed", 0)
    return counts


def pack_findings(objects: list[dict[str, Any]]) -> collections.Counter[str]:
    counts: collections.Counter[str] = collections.Counter()
    for violation in kubernetes_pack().check([("x", o) for o in objects]):
        counts[violation.rule.id] += 1
    return counts


def ours(name: str, checkov_bin: str | None) -> dict[str, Any]:
    ir = compile_source(ROOT / "examples" / name).ir
    assert ir is not None
    start = time.perf_counter()
    drafts = deploy_drafts(ir)
    generate_s = time.perf_counter() - start
    files = {d.path: d.content for d in [*service_drafts(ir), *drafts]}
    all_targets = targets(ir)
    start = time.perf_counter()
    offline = check_package(all_targets, files, tools=False)
    gate_s = time.perf_counter() - start
    start = time.perf_counter()
    full = check_package(all_targets, files, tools=True)
    full_s = time.perf_counter() - start
    rendered = [o for t in all_targets for o in kubernetes.objects(t)]
    with tempfile.TemporaryDirectory() as tmp:
        for t in all_targets:
            (Path(tmp) / f"{t.env}.yaml").write_text(dump_all(kubernetes.objects(t)))
        (Path(tmp) / "Dockerfile").write_bytes(files["deploy/Dockerfile"])
        checked = checkov(checkov_bin, Path(tmp))
    return {
        "what": f"autocoder: {name} ({len(all_targets)} environments, {len(rendered)} objects)",
        "generate_s": generate_s,
        "gate_s": gate_s,
        "gate_with_tools_s": full_s,
        "gate_failed": offline.failed or full.failed,
        "skipped": full.skipped,
        "pack": pack_findings(rendered),
        "checkov": checked,
    }


def helm_create(checkov_bin: str | None) -> dict[str, Any] | None:
    helm = shutil.which("helm")
    if helm is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        subprocess.run([helm, "create", "demo"], cwd=tmp, check=True, capture_output=True)
        rendered = subprocess.run(
            [helm, "template", "demo", "demo", "--namespace", "demo"],
            cwd=tmp,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        elapsed = time.perf_counter() - start
        objects = [o for o in load_all(rendered) if isinstance(o, dict) and o.get("kind")]
        folder = Path(tmp) / "rendered"
        folder.mkdir()
        (folder / "demo.yaml").write_text(rendered)
        checked = checkov(checkov_bin, folder)
    return {
        "what": f"helm create + helm template ({len(objects)} objects)",
        "generate_s": elapsed,
        "pack": pack_findings(objects),
        "checkov": checked,
    }


def describe(row: dict[str, Any]) -> str:
    lines = [f"## {row['what']}"]
    lines.append(f"- generate: {row['generate_s']:.2f} s")
    if "gate_s" in row:
        lines.append(
            f"- gate: {row['gate_s']:.2f} s offline, {row['gate_with_tools_s']:.2f} s with "
            f"helm/kubectl; failed: {row['gate_failed']}; skipped: {row['skipped'] or 'none'}"
        )
    pack = row["pack"]
    lines.append(
        f"- our policy pack: {sum(pack.values())} violation(s)"
        + (f" ({', '.join(f'{k} x{v}' for k, v in sorted(pack.items()))})" if pack else "")
    )
    checked = row["checkov"]
    if checked is not None:
        passed = checked.pop("_passed", 0)
        lines.append(
            f"- checkov: {passed} passed, {sum(checked.values())} failed"
            + (
                f" ({', '.join(f'{k} x{v}' for k, v in sorted(checked.items()))})"
                if checked
                else ""
            )
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkov", help="path of a checkov executable (optional)")
    args = parser.parse_args()
    rows = [ours(name, args.checkov) for name in EXAMPLES]
    peer = helm_create(args.checkov)
    if peer is not None:
        rows.append(peer)
    print("\n\n".join(describe(r) for r in rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

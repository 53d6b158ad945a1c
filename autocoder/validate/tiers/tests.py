"""The ``tests`` tier: the service's generated pytest suite, run by the service's own interpreter.

pytest writes a JUnit XML report; each failed or erroring test becomes an error finding at the
test's file and line, each skipped test a note that says why (custom logic not written yet, for
instance). The property tests are left to the ``properties`` tier. ``run_pytest`` is shared by
both tiers.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from autocoder.validate.context import ValidateContext
from autocoder.validate.findings import Finding, Location, Severity, Status, TierResult
from autocoder.validate.serve import service_env
from autocoder.validate.tools import ToolError, run_tool, tail

NAME = "tests"
INPUTS = ("service",)

PROPERTIES = "tests/test_properties.py"
TIMEOUT = 900  # seconds for one pytest run
MESSAGE_LIMIT = 400
# pytest's exit codes: 0 all passed, 1 some failed, 2 interrupted (collection errors)
ANSWERED = (0, 1, 2)

Detail = Callable[[str, str], str]  # (first line, full text of the failure) -> message detail


def _first_line(message: str, text: str) -> str:
    for line in (*message.splitlines(), *text.splitlines()):
        if line.strip():
            return line.strip()
    return "failed"


def _clip(text: str, limit: int = MESSAGE_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _test_id(case: ET.Element) -> str:
    file = case.get("file") or ""
    name = case.get("name") or "?"
    classname = case.get("classname") or ""
    if not file:
        return f"{classname}::{name}" if classname else name
    module = file.removesuffix(".py").replace("/", ".")
    nested = classname[len(module) + 1 :] if classname.startswith(module + ".") else ""
    return "::".join(part for part in (file, nested, name) if part)


def _location(ctx: ValidateContext, case: ET.Element) -> Location:
    file = case.get("file")
    if not file:
        return Location(file=ctx.relative(ctx.service / "tests"))
    line = case.get("line")
    # pytest reports 0-based line numbers
    number = int(line) + 1 if line and line.isdigit() else 0
    return Location(file=ctx.relative(ctx.service / file), line=number)


def parse_junit(
    ctx: ValidateContext, xml_path: Path, tier: str, detail: Detail | None = None
) -> tuple[list[Finding], str]:
    """Findings of a pytest JUnit XML report (xunit1 family), and the summary line."""
    root = ET.parse(xml_path).getroot()  # noqa: S314 - our own report file
    findings: list[Finding] = []
    total = failed = skipped = 0
    for case in root.iter("testcase"):
        total += 1
        test = _test_id(case)
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is not None:
            failed += 1
            message, text = problem.get("message") or "", problem.text or ""
            first = _first_line(message, text)
            findings.append(
                Finding(
                    code="test-failed",
                    severity=Severity.ERROR,
                    message=_clip(f"{test}: {detail(first, text) if detail else first}"),
                    tier=tier,
                    location=_location(ctx, case),
                    rule_name="a test of the generated suite fails",
                )
            )
            continue
        skip = case.find("skipped")
        if skip is not None:
            skipped += 1
            reason = _first_line(skip.get("message") or "", skip.text or "")
            reason = re.sub(r"^(Skipped: )+", "", reason)
            findings.append(
                Finding(
                    code="test-skipped",
                    severity=Severity.NOTE,
                    message=_clip(f"{test}: skipped: {reason}"),
                    tier=tier,
                    location=_location(ctx, case),
                    rule_name="a test of the generated suite is skipped",
                )
            )
    passed = total - failed - skipped
    summary = f"pytest: {total} tests ({passed} passed, {failed} failed, {skipped} skipped)"
    return findings, summary


def run_pytest(
    ctx: ValidateContext,
    result: TierResult,
    args: list[str],
    *,
    detail: Detail | None = None,
) -> None:
    """Run pytest in OUT/service with ``args`` (service interpreter, clean service environment,
    a temporary hypothesis database) and add its findings and summary to ``result``."""
    try:
        python = ctx.service_python()
    except (OSError, subprocess.CalledProcessError) as exc:
        result.not_checked.append(f"pytest: the service's interpreter could not be made: {exc}")
        return
    with tempfile.TemporaryDirectory(prefix="autocoder-pytest-") as tmp:
        xml_path = Path(tmp) / "junit.xml"
        env = service_env(ctx.subprocess_env)
        env["HYPOTHESIS_STORAGE_DIRECTORY"] = str(Path(tmp) / "hypothesis")
        command = [
            str(python),
            *("-m", "pytest", "-q", "-p", "no:cacheprovider"),
            *("-o", "junit_family=xunit1", "--junitxml", str(xml_path)),
            *args,
        ]
        try:
            process = run_tool(command, cwd=ctx.service, env=env, timeout=TIMEOUT)
        except ToolError as exc:
            result.not_checked.append(f"pytest: {exc}")
            return
        if process.returncode not in ANSWERED or not xml_path.is_file():
            output = tail(process.stdout + process.stderr) or "no output"
            report = "" if xml_path.is_file() else " without a report"
            result.not_checked.append(
                f"pytest: exited with status {process.returncode}{report}:\n{output}"
            )
            return
        try:
            findings, summary = parse_junit(ctx, xml_path, result.tier, detail)
        except ET.ParseError as exc:
            result.not_checked.append(f"pytest: unreadable JUnit report: {exc}")
            return
    result.findings.extend(findings)
    result.checked.append(summary)
    if process.returncode != 0 and not any(f.blocking for f in findings):
        # pytest failed without naming a test (an error outside any test): fail closed
        output = tail(process.stdout + process.stderr) or "no output"
        result.not_checked.append(f"pytest: exited with status {process.returncode}:\n{output}")


def run(ctx: ValidateContext) -> TierResult:
    started = time.perf_counter()
    result = TierResult(tier=NAME, status=Status.PASSED)
    if not (ctx.service / "tests").is_dir():
        result.not_checked.append(f"{ctx.relative(ctx.service / 'tests')}: no test suite")
    else:
        run_pytest(ctx, result, ["--ignore", PROPERTIES])
    result.seconds = time.perf_counter() - started
    return result.settle()

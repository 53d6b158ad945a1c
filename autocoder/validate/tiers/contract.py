"""The ``contract`` tier: the running service against its own OpenAPI document (schemathesis).

The service is started on loopback (``autocoder.validate.serve``) and schemathesis 4, installed
in the service's interpreter, generates requests for every operation with a fixed seed and a
bounded number of examples. Two checks run: ``not_a_server_error`` (any 5xx fails) and
``response_schema_conformance`` (a response body its documented schema rejects fails).

``status_code_conformance`` is left out on purpose: it flags 400 answers that carry the
service's documented error shape but whose status the OpenAPI responses do not list (a body
that is not JSON, a ``null`` for a field that may be omitted but not nulled), which is noise for
this gate. A route whose custom logic is not written yet answers 501 (``not_implemented``):
that 5xx becomes a note, because the static tier already reports the unwritten logic as an
error, naming the file and the function.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from autocoder.ir.models import Route
from autocoder.validate.context import ValidateContext
from autocoder.validate.findings import Finding, Location, Severity, Status, TierResult
from autocoder.validate.serve import (
    Served,
    ServeError,
    not_ready_finding,
    outside_findings,
    serve,
    service_env,
)
from autocoder.validate.tools import ToolError, run_tool, tail

NAME = "contract"
INPUTS = ("service",)

CHECKS = ("not_a_server_error", "response_schema_conformance")
MAX_EXAMPLES = 15  # per operation and phase; the coverage phase adds its boundary cases
SEED = 0
WORKERS = 1  # a rate-limited component serves one worker as fast as two
TIMEOUT = 600  # seconds for the whole schemathesis run
REQUEST_TIMEOUT = 10  # seconds per request
STATEFUL = "Stateful tests"

# schemathesis 4 failure codes (``st explain``) and titles -> the check that raises them
_CHECK_OF_CODE = {
    "ST101": "not_a_server_error",
    "ST102": "not_a_server_error",
    "ST108": "response_schema_conformance",
    "ST109": "response_schema_conformance",
    "ST110": "response_schema_conformance",
    "ST111": "response_schema_conformance",
}
_CHECK_OF_TITLE = {
    "Server error": "not_a_server_error",
    "Server error on undeclared request Content-Type": "not_a_server_error",
    "Response violates schema": "response_schema_conformance",
    "JSON deserialization error": "response_schema_conformance",
}
_RULE_NAMES = {
    "not_a_server_error": "the service answers a request with a 5xx status",
    "response_schema_conformance": "a response body does not match its documented schema",
}

_CASE = re.compile(r"^\d+\. Test Case ID: \S+\s*$", re.MULTILINE)
_CHECK_LINE = re.compile(r"^- (?:(ST\d+) )?(.+?)\s*$")
_STATUS_LINE = re.compile(r"^\[(\d{3})\] ")
_GENERATED = re.compile(r"(\d+) generated")


@dataclass(frozen=True)
class Failure:
    """One failing test case of a schemathesis report."""

    operation: str  # "METHOD /path" as the OpenAPI document names it
    code: str | None  # schemathesis's failure code (ST101), when it prints one
    title: str
    detail: str
    status: int | None
    body: str
    curl: str | None

    @property
    def check(self) -> str:
        if self.code in _CHECK_OF_CODE:
            return _CHECK_OF_CODE[self.code]
        return _CHECK_OF_TITLE.get(self.title, self.code or _slug(self.title))

    @property
    def not_implemented(self) -> bool:
        return self.status == 501 and '"not_implemented"' in self.body


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "failure"


def _route_of(curl: str | None, routes: list[Route]) -> str | None:
    """``METHOD /path`` of the route a reproduction command calls (for stateful failures)."""
    if not curl:
        return None
    method = re.search(r"-X (\w+)", curl)
    url = curl.split()[-1].strip("'\"")
    path = urlsplit(url).path
    candidates = []
    for route in routes:
        pattern = re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(route.path))
        if (method is None or method.group(1) == route.method) and re.fullmatch(pattern, path):
            candidates.append(route)
    if not candidates:
        return None
    best = min(candidates, key=lambda r: len(r.path_params))  # /todos/stats over /todos/{id}
    return f"{best.method} {best.path}"


def parse_failures(label: str, text: str, routes: list[Route]) -> list[Failure]:
    """The failing test cases in the text of one JUnit ``failure`` element."""
    blocks = [b for b in _CASE.split(text) if b.strip()] or [text]
    failures = []
    for block in blocks:
        lines = block.splitlines()
        status, body, curl = None, "", None
        for i, line in enumerate(lines):
            stripped = line.strip()
            found = _STATUS_LINE.match(stripped)
            if found and status is None:
                status = int(found.group(1))
                body = next((x.strip() for x in lines[i + 1 :] if x.strip()), "")
            if stripped.startswith("curl "):
                curl = stripped  # the last request of a sequence is the failing one
        operation = label
        if label == STATEFUL:
            operation = _route_of(curl, routes) or label
        for i, line in enumerate(lines):
            found = _CHECK_LINE.match(line)
            if found is None:
                continue
            detail = next((x.strip() for x in lines[i + 1 :] if x.strip()), "")
            if _STATUS_LINE.match(detail) or detail.startswith(("- ", "Reproduce with")):
                detail = ""
            failures.append(
                Failure(operation, found.group(1), found.group(2), detail, status, body, curl)
            )
    return failures


def _finding(failure: Failure) -> Finding:
    location = Location(node=f"route:{failure.operation}")
    hint = f"reproduce: {failure.curl}" if failure.curl else None
    if failure.not_implemented:
        return Finding(
            code="not-implemented",
            severity=Severity.NOTE,
            message=f"{failure.operation} answers 501: its custom logic is not written yet, so "
            "its contract was not tested (the static tier reports the unwritten logic)",
            tier=NAME,
            location=location,
            hint=hint,
            rule_name="a route's custom logic is not written yet",
        )
    message = f"{failure.operation}: {failure.title}"
    if failure.status is not None:
        message += f" (status {failure.status})"
    if failure.detail:
        message += f": {failure.detail[:200]}"
    return Finding(
        code=failure.check,
        severity=Severity.ERROR,
        message=message,
        tier=NAME,
        location=location,
        hint=hint,
        rule_name=_RULE_NAMES.get(failure.check),
    )


def parse_report(xml_path: Path, routes: list[Route]) -> tuple[list[Finding], list[str], int]:
    """Findings, operations schemathesis skipped, and the number of operations tested."""
    root = ET.parse(xml_path).getroot()  # noqa: S314 - our own report file
    findings: list[Finding] = []
    skipped: list[str] = []
    tested = 0
    for case in root.iter("testcase"):
        label = case.get("name") or "?"
        skip = case.find("skipped")
        if label == STATEFUL:
            pass  # skipped when no operation links to another: nothing left untested
        elif skip is not None:
            skipped.append(f"{label}: {skip.get('message') or 'skipped by schemathesis'}")
        else:
            tested += 1
        for failure in case.findall("failure"):
            parsed = parse_failures(label, failure.text or "", routes)
            if not parsed:
                parsed = [Failure(label, failure.get("message"), "failure", "", None, "", None)]
            findings.extend(_finding(f) for f in parsed)
        for error in case.findall("error"):
            first = next((x.strip() for x in (error.text or "").splitlines() if x.strip()), "")
            findings.append(
                Finding(
                    code="schemathesis-error",
                    severity=Severity.ERROR,
                    message=f"{label}: {first or error.get('message') or 'error'}",
                    tier=NAME,
                    location=Location(node=f"route:{label}"),
                    rule_name="schemathesis could not test an operation",
                )
            )
    unique = list({f.fingerprint: f for f in findings}.values())
    return unique, skipped, tested


def _schemathesis(ctx: ValidateContext, result: TierResult, served: Served) -> None:
    python = ctx.service_python()
    with tempfile.TemporaryDirectory(prefix="autocoder-contract-") as tmp:
        xml_path = Path(tmp) / "junit.xml"
        command = [
            str(python),
            *("-m", "schemathesis.cli", "run", served.base_url + served.endpoints.openapi),
            *("--checks", ",".join(CHECKS)),
            *("--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED)),
            *("--workers", str(WORKERS), "--request-timeout", str(REQUEST_TIMEOUT)),
            *("--report", "junit", "--report-junit-path", str(xml_path)),
            *("--generation-database", "none", "--no-color"),
        ]
        for name, value in served.headers().items():
            command += ["--header", f"{name}: {value}"]
        try:
            process = run_tool(
                command, cwd=tmp, env=service_env(ctx.subprocess_env), timeout=TIMEOUT
            )
        except ToolError as exc:
            result.not_checked.append(f"schemathesis: {exc}")
            return
        output = process.stdout + process.stderr
        if process.returncode not in (0, 1) or not xml_path.is_file():
            result.not_checked.append(
                f"schemathesis: exited with status {process.returncode} without a report:\n"
                f"{tail(output) or 'no output'}"
            )
            return
        routes = [route for component in ctx.ir.components for route in component.routes]
        try:
            findings, skipped, tested = parse_report(xml_path, routes)
        except ET.ParseError as exc:
            result.not_checked.append(f"schemathesis: unreadable JUnit report: {exc}")
            return
    result.findings.extend(findings)
    result.not_checked.extend(f"schemathesis skipped {line}" for line in skipped)
    generated = _GENERATED.search(output)
    cases = f", {generated.group(1)} requests" if generated else ""
    result.checked.append(
        f"schemathesis: {tested} operations{cases} ({', '.join(CHECKS)}; "
        f"{MAX_EXAMPLES} examples per phase, seed {SEED})"
    )
    if generated:
        result.metrics["requests"] = int(generated.group(1))
    if process.returncode == 1 and not findings:
        result.not_checked.append(
            f"schemathesis: failed without a failure in its report:\n{tail(output)}"
        )


def run(ctx: ValidateContext) -> TierResult:
    started = time.perf_counter()
    result = TierResult(tier=NAME, status=Status.PASSED)
    if not any(component.routes for component in ctx.ir.components):
        result.checked.append("no HTTP routes in the blueprint: no contract to test")
        result.seconds = time.perf_counter() - started
        return result.settle()
    try:
        with serve(ctx) as served:
            _schemathesis(ctx, result, served)
        if line := served.partners.summary():
            result.checked.append(line)
        result.findings.extend(outside_findings(ctx, served.partners, NAME))
    except ServeError as exc:
        result.findings.append(not_ready_finding(ctx, NAME, exc))
        result.not_checked.append("schemathesis: not run, the service did not start")
    except (OSError, subprocess.CalledProcessError) as exc:
        result.not_checked.append(f"schemathesis: the service's interpreter is unusable: {exc}")
    result.seconds = time.perf_counter() - started
    return result.settle()

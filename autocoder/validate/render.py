"""Renderers of a validation report: text for CI logs, JSON, SARIF 2.1.0 and JUnit XML.

Each renderer is a pure function ``Report -> str``; ``write_reports`` puts the machine-readable
ones in a directory, each file replaced atomically. The JSON form is described by
``schemas/report.schema.json``; the SARIF form is meant for GitHub code scanning.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from autocoder.validate.findings import Finding, Report, Severity, Status, TierResult

REPORT_VERSION = 1
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_BASE_ID = "OUTROOT"
FINGERPRINT_KEY = "autocoderFingerprint/v1"
REPORT_FILES = ("findings.json", "findings.sarif", "junit.xml")

_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.NOTE: 2}
# Characters XML 1.0 cannot carry (tool output sometimes holds ANSI escapes and other controls).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def counts(result: TierResult) -> dict[str, int]:
    """Findings of a tier by severity (suppressed ones counted apart, not by severity)."""
    active = [f for f in result.findings if f.suppressed is None]
    return {
        "error": sum(f.severity is Severity.ERROR for f in active),
        "warning": sum(f.severity is Severity.WARNING for f in active),
        "note": sum(f.severity is Severity.NOTE for f in active),
        "suppressed": len(result.findings) - len(active),
    }


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def _metric_value(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _metric_lines(metrics: Mapping[str, Any], path: str = "") -> list[str]:
    """One line per group of numbers: ``metrics: a=1`` then ``metrics routes.GET /x: p95_ms=4``
    for every nested mapping, depth first, keys sorted."""
    scalars = [
        f"{key}={_metric_value(metrics[key])}"
        for key in sorted(metrics)
        if not isinstance(metrics[key], Mapping)
    ]
    lines = [f"metrics{' ' + path if path else ''}: {', '.join(scalars)}"] if scalars else []
    for key in sorted(metrics):
        if isinstance(metrics[key], Mapping):
            lines += _metric_lines(metrics[key], f"{path}.{key}" if path else str(key))
    return lines


# --- text ------------------------------------------------------------------------------------


def _tier_line(result: TierResult) -> str:
    head = f"  {result.status.value.upper():<8} {result.tier:<12} {result.seconds:7.2f} s"
    parts: list[str] = []
    if result.status is Status.SKIPPED:
        parts.append(f"skipped: {result.reason or 'no reason given'}")
    else:
        c = counts(result)
        tally = [_plural(c["error"], "error"), _plural(c["warning"], "warning")]
        tally.append(_plural(c["note"], "note"))
        if c["suppressed"]:
            tally.append(f"{c['suppressed']} suppressed")
        parts.append(", ".join(tally))
    details = [f"checked: {item}" for item in result.checked]
    details += [f"NOT checked: {item}" for item in result.not_checked]
    details += _metric_lines(result.metrics)
    return "\n".join([head + "  " + " | ".join(parts)] + [" " * 11 + d for d in details])


def format_finding(finding: Finding) -> str:
    """``file:line:col: severity: message [code]``, a hint line when there is one."""
    suppressed = f" (suppressed: {finding.suppressed})" if finding.suppressed else ""
    line = f"{finding.location}: {finding.severity.value}: {finding.message} [{finding.code}]"
    out = [line + suppressed]
    if finding.hint:
        out.append(f"  hint: {finding.hint}")
    return "\n".join(out)


def summary_line(report: Report) -> str:
    active = [f for f in report.findings if f.suppressed is None]
    errors = sum(f.severity is Severity.ERROR for f in active)
    warnings = sum(f.severity is Severity.WARNING for f in active)
    verdict = "PASSED" if report.ok else "FAILED"
    tiers = _plural(len(report.results), "tier")
    return (
        f"validate: {verdict} — {_plural(errors, 'error')}, {_plural(warnings, 'warning')} "
        f"in {tiers} ({report.seconds:.1f} s)"
    )


def render_text(report: Report) -> str:
    """The summary a person reads in a CI log: tiers, then findings by tier, then the verdict."""
    lines = [f"autocoder {report.autocoder_version} validate {report.out}"]
    lines += [_tier_line(r) for r in report.results]
    for result in report.results:
        if not result.findings:
            continue
        lines += ["", f"{result.tier}:"]
        for finding in result.findings:
            lines += ["  " + row for row in format_finding(finding).splitlines()]
    lines += ["", summary_line(report)]
    return "\n".join(lines) + "\n"


# --- JSON ------------------------------------------------------------------------------------


def report_json(report: Report) -> dict[str, Any]:
    """The report as described by ``schemas/report.schema.json``."""
    tiers = [
        {
            "tier": r.tier,
            "status": r.status.value,
            "seconds": round(r.seconds, 3),
            "checked": list(r.checked),
            "not_checked": list(r.not_checked),
            "reason": r.reason,
            "metrics": r.metrics,
            "counts": counts(r),
        }
        for r in report.results
    ]
    return {
        "report_version": REPORT_VERSION,
        "autocoder_version": report.autocoder_version,
        "out": report.out,
        "ok": report.ok,
        "seconds": round(report.seconds, 3),
        "tiers": tiers,
        "findings": [f.to_json() for f in report.findings],
    }


def render_json(report: Report) -> str:
    return json.dumps(report_json(report), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# --- SARIF -----------------------------------------------------------------------------------


def _out_uri(out: str) -> str:
    uri = Path(out).resolve().as_uri()
    return uri if uri.endswith("/") else uri + "/"


def _rules(findings: Iterable[Finding]) -> list[dict[str, Any]]:
    """One rule per distinct code, sorted by id; its level is the most severe one seen."""
    by_code: dict[str, list[Finding]] = {}
    for finding in findings:
        by_code.setdefault(finding.code, []).append(finding)
    rules: list[dict[str, Any]] = []
    for code in sorted(by_code):
        group = by_code[code]
        first = group[0]
        rule: dict[str, Any] = {
            "id": code,
            "name": first.rule_name or code,
            "shortDescription": {"text": first.rule_name or first.message},
            "defaultConfiguration": {
                "level": min((f.severity for f in group), key=_RANK.__getitem__).value
            },
        }
        hint = next((f.hint for f in group if f.hint), None)
        if hint:
            rule["help"] = {"text": hint}
        rules.append(rule)
    return rules


def _sarif_location(finding: Finding) -> dict[str, Any] | None:
    loc = finding.location
    if loc.file is None:
        if loc.node is None:
            return None
        return {"logicalLocations": [{"fullyQualifiedName": loc.node}]}
    path = PurePosixPath(loc.file)
    artifact: dict[str, Any]
    if path.is_absolute():  # outside OUT: no base to be relative to
        artifact = {"uri": Path(loc.file).as_uri()}
    else:
        artifact = {"uri": quote(path.as_posix()), "uriBaseId": SARIF_BASE_ID}
    physical: dict[str, Any] = {"artifactLocation": artifact}
    if loc.line > 0:
        region = {"startLine": loc.line}
        if loc.col > 0:
            region["startColumn"] = loc.col
        physical["region"] = region
    location: dict[str, Any] = {"physicalLocation": physical}
    if loc.node:
        location["logicalLocations"] = [{"fullyQualifiedName": loc.node}]
    return location


def _sarif_result(finding: Finding, rule_index: int) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.code,
        "ruleIndex": rule_index,
        "level": finding.severity.value,
        "message": {"text": finding.message},
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
        "properties": {"tier": finding.tier},
    }
    location = _sarif_location(finding)
    if location is not None:
        result["locations"] = [location]
    if finding.suppressed is not None:
        result["suppressions"] = [{"kind": "external", "justification": finding.suppressed}]
    return result


def _notifications(report: Report) -> list[dict[str, Any]]:
    notes: list[dict[str, Any]] = []
    for r in report.results:
        if r.status is Status.SKIPPED:
            text = f"{r.tier}: skipped: {r.reason or 'no reason given'}"
            notes.append(_notification(text, "warning", r.tier))
        for line in r.not_checked:
            notes.append(_notification(f"{r.tier}: not checked: {line}", "error", r.tier))
    return notes


def _notification(text: str, level: str, tier: str) -> dict[str, Any]:
    return {"level": level, "message": {"text": text}, "properties": {"tier": tier}}


def sarif_json(report: Report) -> dict[str, Any]:
    """A SARIF 2.1.0 log with one run; file URIs are relative to OUT (base id ``OUTROOT``)."""
    findings = report.findings
    rules = _rules(findings)
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    invocation: dict[str, Any] = {"executionSuccessful": report.ok}
    notifications = _notifications(report)
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    run = {
        "tool": {
            "driver": {"name": "autocoder", "version": report.autocoder_version, "rules": rules}
        },
        "originalUriBaseIds": {SARIF_BASE_ID: {"uri": _out_uri(report.out)}},
        "invocations": [invocation],
        "results": [_sarif_result(f, index[f.code]) for f in findings],
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def render_sarif(report: Report) -> str:
    return json.dumps(sarif_json(report), indent=2, ensure_ascii=False) + "\n"


# --- JUnit -----------------------------------------------------------------------------------


def _xml(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _testcase(suite: ET.Element, name: str, seconds: float = 0.0) -> ET.Element:
    return ET.SubElement(
        suite,
        "testcase",
        {"classname": suite.get("name", ""), "name": _xml(name), "time": f"{seconds:.3f}"},
    )


def _suite(parent: ET.Element, result: TierResult) -> dict[str, int]:
    suite = ET.SubElement(parent, "testsuite", {"name": f"autocoder.{result.tier}"})
    tally = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    if result.status is Status.SKIPPED:
        case = _testcase(suite, f"{result.tier} skipped")
        ET.SubElement(case, "skipped", {"message": _xml(result.reason or "no reason given")})
        tally["tests"] += 1
        tally["skipped"] += 1
    for finding in result.findings:
        if finding.severity is not Severity.ERROR:
            continue
        case = _testcase(suite, f"[{finding.code}] {finding.location}")
        tally["tests"] += 1
        if finding.suppressed is not None:
            ET.SubElement(case, "skipped", {"message": _xml(f"suppressed: {finding.suppressed}")})
            tally["skipped"] += 1
            continue
        failure = ET.SubElement(
            case, "failure", {"message": _xml(finding.message), "type": _xml(finding.code)}
        )
        failure.text = _xml(f"{format_finding(finding)}\nfingerprint: {finding.fingerprint}")
        tally["failures"] += 1
    for line in result.not_checked:
        case = _testcase(suite, f"not checked: {line}")
        ET.SubElement(case, "error", {"message": _xml(line), "type": "not-checked"})
        tally["tests"] += 1
        tally["errors"] += 1
    if result.status is not Status.SKIPPED and not result.errors and not result.not_checked:
        passed = f"{result.tier} passed" + (" (cached)" if result.status is Status.CACHED else "")
        _testcase(suite, passed, result.seconds)
        tally["tests"] += 1
    for key, value in tally.items():
        suite.set(key, str(value))
    suite.set("time", f"{result.seconds:.3f}")
    return tally


def render_junit(report: Report) -> str:
    """JUnit XML: a test suite per tier, a failing test case per blocking error."""
    root = ET.Element("testsuites", {"name": "autocoder validate"})
    total = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for result in report.results:
        for key, value in _suite(root, result).items():
            total[key] += value
    for key, value in total.items():
        root.set(key, str(value))
    root.set("time", f"{report.seconds:.3f}")
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + body + "\n"


# --- files -----------------------------------------------------------------------------------


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; reports are for everyone
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_reports(report: Report, directory: Path) -> list[Path]:
    """Write findings.json, findings.sarif and junit.xml into ``directory`` (created if needed)."""
    directory.mkdir(parents=True, exist_ok=True)
    texts = (render_json(report), render_sarif(report), render_junit(report))
    paths = [directory / name for name in REPORT_FILES]
    for path, text in zip(paths, texts, strict=True):
        _write_atomic(path, text)
    return paths

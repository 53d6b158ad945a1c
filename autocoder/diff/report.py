"""The reports of ``autocoder diff``: text, JSON, Markdown (a pull-request comment), SARIF 2.1.0
and JUnit, and a human changelog. Every change carries its rule, level, fingerprint and its
place in both revisions."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree as ET

from autocoder import __version__
from autocoder.diagnostics import Span
from autocoder.diff.rules import LEVELS, RULES, Change, Level

FORMATS = ("text", "json", "markdown", "sarif", "junit")
SARIF_LEVEL = {"breaking": "error", "potentially-breaking": "warning", "compatible": "note"}
TITLES = {
    "breaking": "Breaking changes",
    "potentially-breaking": "Potentially breaking changes",
    "compatible": "Compatible changes",
}


@dataclass(frozen=True)
class Entry:
    change: Change
    base_at: Span | None
    head_at: Span | None
    suppressed: str | None = None  # the reason of the suppression that waived it
    # where code scanning shows it: the head file (at its line), else the base's file by its
    # path in the repository (a whole-file annotation: its lines are the base revision's)
    uri: str | None = None

    @property
    def at(self) -> Span | None:
        return self.head_at or self.base_at


@dataclass(frozen=True)
class Verdict:
    base: str
    head: str
    fail_on: Level
    entries: Sequence[Entry]
    notes: Sequence[str] = ()  # about the suppressions: expired, or matching nothing
    version: str = ""  # HEAD's system.version

    def counts(self) -> dict[str, int]:
        active = [e for e in self.entries if e.suppressed is None]
        found: dict[str, int] = {
            level: sum(e.change.rule.level == level for e in active) for level in LEVELS
        }
        return {**found, "suppressed": len(self.entries) - len(active)}

    @property
    def failing(self) -> list[Entry]:
        limit = LEVELS.index(self.fail_on)
        return [
            e
            for e in self.entries
            if e.suppressed is None and LEVELS.index(e.change.rule.level) <= limit
        ]

    @property
    def failed(self) -> bool:
        return bool(self.failing)


def _where(span: Span | None) -> str:
    return str(span) if span is not None else "-"


def _summary(verdict: Verdict) -> str:
    c = verdict.counts()
    text = (
        f"{c['breaking']} breaking, {c['potentially-breaking']} potentially breaking, "
        f"{c['compatible']} compatible"
    )
    return text + (f", {c['suppressed']} suppressed" if c["suppressed"] else "")


def render(verdict: Verdict, fmt: str) -> str:
    return {
        "text": render_text,
        "json": render_json,
        "markdown": render_markdown,
        "sarif": render_sarif,
        "junit": render_junit,
    }[fmt](verdict)


def render_text(verdict: Verdict) -> str:
    lines = [f"autocoder diff {verdict.base} -> {verdict.head}"]
    for entry in verdict.entries:
        change = entry.change
        waived = f"  (suppressed: {entry.suppressed})" if entry.suppressed else ""
        lines.append(f"{change.rule.level}: [{change.rule.id}] {change.message}{waived}")
        if entry.base_at or entry.head_at:
            lines.append(f"    base {_where(entry.base_at)}  head {_where(entry.head_at)}")
    lines += [f"note: {note}" for note in verdict.notes]
    outcome = "FAILED" if verdict.failed else "passed"
    lines.append(f"{_summary(verdict)}; {outcome} (--fail-on {verdict.fail_on})")
    return "\n".join(lines) + "\n"


def _span_data(span: Span | None) -> dict[str, Any] | None:
    return None if span is None else {"file": span.file, "line": span.line, "col": span.col}


def render_json(verdict: Verdict) -> str:
    data = {
        "base": verdict.base,
        "head": verdict.head,
        "fail_on": verdict.fail_on,
        "failed": verdict.failed,
        "counts": verdict.counts(),
        "notes": list(verdict.notes),
        "changes": [
            {
                "rule": e.change.rule.id,
                "level": e.change.rule.level,
                "layer": e.change.rule.layer,
                "message": e.change.message,
                "fingerprint": e.change.fingerprint,
                "base": _span_data(e.base_at),
                "head": _span_data(e.head_at),
                "suppressed": e.suppressed,
            }
            for e in verdict.entries
        ],
    }
    return json.dumps(data, indent=2) + "\n"


def render_markdown(verdict: Verdict) -> str:
    mark = ":x:" if verdict.failed else ":white_check_mark:"
    lines = [f"### {mark} Blueprint changes: {_summary(verdict)}", ""]
    if not verdict.entries:
        return "\n".join(
            [*lines, "No changes to the API, the data, the dataflow or the deployment.", ""]
        )
    lines += ["| level | rule | change | where |", "| --- | --- | --- | --- |"]
    for entry in verdict.entries:
        level = entry.change.rule.level + (" (suppressed)" if entry.suppressed else "")
        message = entry.change.message.replace("|", "\\|")
        lines.append(f"| {level} | `{entry.change.rule.id}` | {message} | `{_where(entry.at)}` |")
    lines += [f"> {note}" for note in verdict.notes]
    lines += ["", f"`{verdict.base}` -> `{verdict.head}`, failing at `{verdict.fail_on}`.", ""]
    return "\n".join(lines)


def render_sarif(verdict: Verdict) -> str:
    used = sorted({e.change.rule.id for e in verdict.entries})
    rules = [
        {
            "id": rule_id,
            "shortDescription": {"text": RULES[rule_id].summary},
            "help": {"text": f"{RULES[rule_id].summary} See docs/breaking-changes.md#{rule_id}."},
            "properties": {"level": RULES[rule_id].level, "layer": RULES[rule_id].layer},
        }
        for rule_id in used
    ]
    results = []
    for entry in verdict.entries:
        result: dict[str, Any] = {
            "ruleId": entry.change.rule.id,
            "ruleIndex": used.index(entry.change.rule.id),
            "level": SARIF_LEVEL[entry.change.rule.level],
            "message": {"text": entry.change.message},
            "partialFingerprints": {"autocoderDiff/v1": entry.change.fingerprint},
        }
        if entry.uri is not None:
            physical: dict[str, Any] = {"artifactLocation": {"uri": entry.uri}}
            if entry.head_at is not None:
                physical["region"] = {
                    "startLine": max(entry.head_at.line, 1),
                    "startColumn": max(entry.head_at.col, 1),
                }
            result["locations"] = [{"physicalLocation": physical}]
        if entry.suppressed:
            result["suppressions"] = [{"kind": "inSource", "justification": entry.suppressed}]
        results.append(result)
    sarif = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "autocoder diff",
                        "version": __version__,
                        "informationUri": "https://github.com/autocoder/autocoder",
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(sarif, indent=2) + "\n"


def render_junit(verdict: Verdict) -> str:
    failing = {id(e) for e in verdict.failing}
    suite = ET.Element(
        "testsuite",
        name="autocoder diff",
        tests=str(max(len(verdict.entries), 1)),
        failures=str(len(failing)),
        skipped=str(sum(e.suppressed is not None for e in verdict.entries)),
    )
    if not verdict.entries:
        ET.SubElement(suite, "testcase", classname="autocoder.diff", name="no changes")
    for entry in verdict.entries:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"autocoder.diff.{entry.change.rule.layer}",
            name=f"{entry.change.rule.id}: {entry.change.message}",
        )
        if id(entry) in failing:
            failure = ET.SubElement(
                case, "failure", type=entry.change.rule.id, message=entry.change.message
            )
            failure.text = f"{entry.change.rule.level} at {_where(entry.at)}"
        elif entry.suppressed:
            ET.SubElement(case, "skipped", message=f"suppressed: {entry.suppressed}")
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def changelog(verdict: Verdict, version: str) -> str:
    """A changelog section a person reads: the changes by level, newest version first."""
    lines = [f"## {version}", ""]
    for level in LEVELS:
        entries = [
            e
            for e in verdict.entries
            if e.change.rule.level == level and e.change.rule.layer != "system"
        ]
        if not entries:
            continue
        lines += [f"### {TITLES[level]}", ""]
        lines += [
            f"- {entry.change.message[:1].upper()}{entry.change.message[1:]}." for entry in entries
        ]
        lines.append("")
    if len(lines) == 2:
        lines += ["No change to the API, the data, the dataflow or the deployment.", ""]
    return "\n".join(lines)

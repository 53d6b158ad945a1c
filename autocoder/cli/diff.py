"""``autocoder diff`` and ``autocoder check``: the CI gate on blueprint changes.

``diff`` compares two sides (blueprints, OUT, IR file, ``git:REV:path``), classifies every
change by the rules of ``autocoder.diff`` and exits 1 when one at or above ``--fail-on`` is not
suppressed. ``check`` is what a CI job runs: compile, diff against a base revision, generate
into a scratch directory and run the fast validation tiers, with one exit code and the reports
(SARIF, JSON, JUnit, a Markdown summary for a pull-request comment) in one directory.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import click

from autocoder.cli.exit_codes import ExitCode, exit_code_for
from autocoder.cli.output import emit_diagnostics, info
from autocoder.compiler import display_path, today
from autocoder.diagnostics import DiagnosticSink, codes, render_text
from autocoder.diff.report import Entry, Verdict, changelog, render
from autocoder.diff.rules import RULES, Change, Level, breaking, compare
from autocoder.diff.sources import NotInRevision, Side, SideError, load_side, side_of
from autocoder.ir.models import IR, SuppressionRecord

FAST_TIERS = ("blueprint", "static", "policy", "consistency")


def _waivers(head: IR, on: dt.date) -> tuple[list[SuppressionRecord], list[str]]:
    """HEAD's suppressions of change rules still in force, and notes on the expired ones."""
    live, notes = [], []
    for sup in head.policy.suppressions:
        if sup.code not in RULES:
            continue
        if sup.expires is not None and dt.date.fromisoformat(sup.expires) < on:
            notes.append(f"suppression of {sup.code} expired on {sup.expires}: it waives nothing")
        else:
            live.append(sup)
    return live, notes


def _waiver(change: Change, live: list[SuppressionRecord]) -> SuppressionRecord | None:
    pointers = [o.split("#", 1)[1] for o in (change.head, change.base) if o and "#" in o]
    for sup in live:
        if sup.code == change.rule.id and (
            sup.target is None
            or any(p == sup.target or p.startswith(sup.target.rstrip("/") + "/") for p in pointers)
        ):
            return sup
    return None


def _broken(side: Side, role: str, fmt: str) -> int:
    """Report a side that does not compile, its files shown under their revision (on stderr:
    stdout stays the report's)."""
    click.echo(f"{role} {side.label} does not compile:", err=True)
    text = render_text(side.sink.diagnostics, side.sink.sources)
    if side.shown_as is not None:
        text = text.replace(side.shown_as[0], side.shown_as[1])
    click.echo(text, nl=False, err=True)
    return exit_code_for(side.sink.diagnostics)


def verdict_of(
    base_spec: str, head_spec: str, fail_on: Level, work: Path, head: Side | None = None
) -> Verdict | Side:
    """The classified changes, or the side that could not be compiled (``head``: HEAD when it
    is compiled already). SideError propagates."""
    base = load_side(base_spec, work)
    head = head or load_side(head_spec, work)
    for side in (base, head):
        if side.ir is None:
            return side
    assert base.ir is not None and head.ir is not None  # noqa: S101 - checked just above
    live, notes = _waivers(head.ir, today())
    changes = compare(base.ir, head.ir)
    waived = {id(c): _waiver(c, live) for c in changes}
    if all(waived[id(c)] for c in breaking(changes) if c.rule.layer != "system"):
        changes = [c for c in changes if c.rule.layer != "system"]  # every break was accepted
    entries = []
    for change in changes:
        base_at, head_at = base.locate(change.base), head.locate(change.head)
        uri = head.repository_path(head_at) or base.repository_path(base_at)
        sup = waived.get(id(change))
        entries.append(Entry(change, base_at, head_at, sup.reason if sup else None, uri))
    used = {id(waived[id(c)]) for c in changes if waived.get(id(c)) is not None}
    notes += [f"suppression of {s.code} matched no change" for s in live if id(s) not in used]
    return Verdict(base_spec, head_spec, fail_on, entries, notes, head.ir.system.version)


def diff_task(base: str, head: str, *, fail_on: Level, fmt: str, as_changelog: bool) -> int:
    with tempfile.TemporaryDirectory(prefix="autocoder-diff-") as tmp:
        try:
            found = verdict_of(base, head, fail_on, Path(tmp))
        except SideError as exc:
            return _usage(str(exc), fmt)
        if isinstance(found, Side):
            return _broken(found, "BASE" if found.label == base else "HEAD", fmt)
        if as_changelog:
            click.echo(changelog(found, found.version), nl=False)
        else:
            click.echo(render(found, fmt), nl=False)
    return ExitCode.INPUT_ERRORS if found.failed else ExitCode.OK


def _usage(message: str, fmt: str) -> int:
    sink = DiagnosticSink()
    sink.report(codes.SOURCE_NOT_FOUND, message)
    emit_diagnostics(sink.diagnostics, sink.sources, fmt if fmt in ("text", "json") else "text")
    return ExitCode.USAGE


def check_task(source: Path, *, base: str | None, fail_on: Level, reports: Path) -> int:
    """Compile SOURCE, diff it against ``git:BASE:SOURCE``, generate it into a scratch
    directory and run the fast tiers; reports (SARIF, JSON, JUnit, summary.md) in ``reports``."""
    from autocoder.cli.service import build_task
    from autocoder.cli.validate import validate_task
    from autocoder.compiler import compile_source
    from autocoder.diff.report import render_json, render_junit, render_markdown, render_sarif

    reports.mkdir(parents=True, exist_ok=True)
    summary: list[str] = [f"## Autocoder check of `{display_path(source)}`", ""]
    code: int = ExitCode.OK
    compiled = compile_source(source)
    errors = [d for d in compiled.sink.diagnostics if d.is_error]
    emit_diagnostics(compiled.sink.diagnostics, compiled.sink.sources, "text")
    summary += [
        f"**Compile:** {len(errors)} error(s), "
        f"{len(compiled.sink.diagnostics) - len(errors)} other diagnostic(s).",
        "",
    ]
    if not compiled.ok:
        summary.append("The blueprints do not compile; nothing else was checked.")
        _finish(reports, summary)
        return exit_code_for(compiled.sink.diagnostics)
    with tempfile.TemporaryDirectory(prefix="autocoder-check-") as tmp:
        work = Path(tmp)
        if base is not None:
            try:
                found: Verdict | Side | None = verdict_of(
                    f"git:{base}:{source.resolve()}",
                    str(source),
                    fail_on,
                    work,
                    side_of(str(source), compiled),
                )
            except NotInRevision as exc:  # new in this change: nothing to compare with
                click.echo(f"diff: skipped, {exc}", err=True)
                summary += [f"**Diff:** skipped: {exc} (new in this change).", ""]
                found = None
            except SideError as exc:
                _finish(reports, [*summary, f"**Diff:** {exc}"])
                return _usage(str(exc), "text")
            if found is None:
                pass
            elif isinstance(found, Side):
                summary.append(f"**Diff:** the base {found.label} does not compile.")
                code = max(code, _broken(found, "BASE", "text"))
            else:
                for name, text in (
                    ("diff.json", render_json(found)),
                    ("diff.sarif", render_sarif(found)),
                    ("diff.junit.xml", render_junit(found)),
                ):
                    (reports / name).write_text(text, encoding="utf-8")
                click.echo(render(found, "text"), nl=False)
                summary.append(render_markdown(found))
                if found.failed:
                    code = ExitCode.INPUT_ERRORS
        out = work / "out"
        built = build_task(source, out, force=True, fmt="text")
        if built != ExitCode.OK:
            summary.append("**Generate:** the service or its deployment package failed its gate.")
            _finish(reports, summary)
            return max(code, built)
        tiers = validate_task(
            out,
            tiers=FAST_TIERS,
            skips=(),
            reason=None,
            baseline=None,
            update_baseline=False,
            cache=False,
            fmt="text",
        )
        summary += _tier_table(out / "reports" / "findings.json")
        for name in ("findings.json", "findings.sarif", "junit.xml"):
            if (out / "reports" / name).is_file():
                shutil.copy(out / "reports" / name, reports / f"validate.{name}")
        code = max(code, tiers)
    _finish(reports, summary)
    info(f"check: {'FAILED' if code else 'passed'}; reports in {display_path(reports)}", "text")
    return code


def _tier_table(findings: Path) -> list[str]:
    if not findings.is_file():
        return ["**Validation:** no report was written.", ""]
    data: dict[str, Any] = json.loads(findings.read_text(encoding="utf-8"))
    lines = [
        "**Validation (fast tiers):**",
        "",
        "| tier | status | findings |",
        "| --- | --- | --- |",
    ]
    for tier in data.get("tiers", []):
        counts = tier.get("counts", {})
        found = ", ".join(f"{v} {k}" for k, v in counts.items() if v) or "none"
        missed = "; ".join(tier.get("not_checked") or [])
        found += f" (not checked: {missed})" if missed else ""
        lines.append(f"| {tier.get('tier')} | {tier.get('status')} | {found} |")
    return [*lines, ""]


def _finish(reports: Path, summary: list[str]) -> None:
    (reports / "summary.md").write_text("\n".join(summary).rstrip() + "\n", encoding="utf-8")


def rules_markdown() -> str:
    """docs/breaking-changes.md: every rule of the registry."""
    lines = [
        "# Breaking-change rules",
        "",
        "Generated from `autocoder/diff/rules.py` (`python -m autocoder.cli.diff`); do not edit.",
        "`autocoder diff` and `autocoder check` classify every change between two revisions of a",
        "system with these rules; `--fail-on` chooses the level that fails (default `breaking`).",
        "A change is waived like any finding: a suppression in `policy.suppressions` whose `code`",
        "is the rule id, with a `reason` (optionally a `target` pointer and an `expires` date).",
        "",
        "| rule | level | layer | what it means |",
        "| --- | --- | --- | --- |",
    ]
    for rule in RULES.values():
        lines.append(
            f'| <a id="{rule.id}"></a>`{rule.id}` | {rule.level} | {rule.layer} | {rule.summary} |'
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    target = Path(__file__).resolve().parents[2] / "docs" / "breaking-changes.md"
    target.write_text(rules_markdown(), encoding="utf-8")
    print(f"wrote {target}")

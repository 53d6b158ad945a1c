"""The runner on stand-in tiers: selection, skips, caching, suppressions, baseline, fail-closed."""

from __future__ import annotations

import datetime as dt
import json
import threading
import types
from pathlib import Path

import pytest

from autocoder.ir.models import IR, Policy, SuppressionRecord, SystemInfo
from autocoder.validate import runner
from autocoder.validate.context import ValidateContext
from autocoder.validate.findings import TIERS, Finding, Location, Severity, Status, TierResult

TODAY = dt.date(2026, 11, 28)


class Calls:
    def __init__(self) -> None:
        self.names: list[str] = []
        self.lock = threading.Lock()

    def add(self, name: str) -> None:
        with self.lock:
            self.names.append(name)


def fake_tiers(
    monkeypatch: pytest.MonkeyPatch, behaviour: dict[str, list[Finding] | Exception]
) -> Calls:
    calls = Calls()

    def module(name: str) -> types.ModuleType:
        mod = types.ModuleType(name)
        mod.NAME = name  # type: ignore[attr-defined]
        mod.INPUTS = ("service",)  # type: ignore[attr-defined]

        def run(ctx: ValidateContext) -> TierResult:
            calls.add(name)
            outcome = behaviour.get(name, [])
            if isinstance(outcome, Exception):
                raise outcome
            return TierResult(name, Status.PASSED, findings=list(outcome), checked=["x"]).settle()

        mod.run = run  # type: ignore[attr-defined]
        return mod

    monkeypatch.setattr(runner, "tier_module", module)
    return calls


def context(tmp_path: Path, suppressions: list[SuppressionRecord] | None = None) -> ValidateContext:
    (tmp_path / "service").mkdir(exist_ok=True)
    (tmp_path / "service" / "app.py").write_text("x = 1\n")
    ir = IR(
        autocoder_version="0",
        system=SystemInfo(name="s", version="1.0.0"),
        sources=[],
        policy=Policy(suppressions=suppressions or []),
    )
    return ValidateContext(out=tmp_path, ir=ir)


def error(tier: str, code: str = "E1", file: str = "service/app.py") -> Finding:
    return Finding(code, Severity.ERROR, f"{code} broke", tier, Location(file=file, line=3))


def test_all_tiers_run_in_order_and_a_clean_run_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = fake_tiers(monkeypatch, {})
    report = runner.validate(context(tmp_path), runner.Options(today=TODAY))
    assert report.ok
    assert [r.tier for r in report.results] == list(TIERS)
    assert sorted(calls.names) == sorted(TIERS)
    assert calls.names[-1] == "performance"  # measured alone, after the others


def test_an_error_fails_and_a_crash_fails_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_tiers(monkeypatch, {"static": [error("static")], "tests": RuntimeError("boom")})
    report = runner.validate(context(tmp_path), runner.Options(today=TODAY))
    assert not report.ok
    by_tier = {r.tier: r for r in report.results}
    assert by_tier["static"].status is Status.FAILED
    assert by_tier["tests"].status is Status.FAILED
    assert "crashed: RuntimeError: boom" in by_tier["tests"].not_checked[0]
    assert by_tier["blueprint"].status is Status.PASSED


def test_skips_need_a_reason_and_are_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = fake_tiers(monkeypatch, {})
    options = runner.Options(tiers=["static", "contract"], skips={"contract": "no network"})
    report = runner.validate(context(tmp_path), options)
    assert calls.names == ["static"]
    skipped = next(r for r in report.results if r.tier == "contract")
    assert skipped.status is Status.SKIPPED and skipped.reason == "no network"
    assert report.ok


def test_unchanged_inputs_are_cached_and_a_change_reruns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = fake_tiers(monkeypatch, {})
    ctx = context(tmp_path)
    runner.validate(ctx, runner.Options(tiers=["static"]))
    second = runner.validate(ctx, runner.Options(tiers=["static"]))
    assert calls.names == ["static"]
    assert second.results[0].status is Status.CACHED and second.ok
    (tmp_path / "service" / "app.py").write_text("x = 2\n")
    runner.validate(ctx, runner.Options(tiers=["static"]))
    assert calls.names == ["static", "static"]
    runner.validate(ctx, runner.Options(tiers=["static"], cache=False))
    assert len(calls.names) == 3


def test_failed_tiers_are_not_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = fake_tiers(monkeypatch, {"static": [error("static")]})
    ctx = context(tmp_path)
    runner.validate(ctx, runner.Options(tiers=["static"]))
    again = runner.validate(ctx, runner.Options(tiers=["static"]))
    assert calls.names == ["static", "static"] and not again.ok


def test_suppressions_need_a_reason_and_expire(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_tiers(monkeypatch, {"static": [error("static", "S608"), error("static", "S105")]})
    ctx = context(
        tmp_path,
        [SuppressionRecord(origin="x", code="S608", reason="parameterised upstream", owner="db")],
    )
    (tmp_path / ".autocoder").mkdir()
    (tmp_path / runner.SUPPRESSIONS_FILE).write_text(
        "suppressions:\n"
        "  - {code: S105, reason: test fixture, expires: '2026-01-01', owner: sec}\n"
        "  - {code: E1}\n"
    )
    report = runner.validate(ctx, runner.Options(tiers=["static"], today=TODAY))
    static = report.results[0]
    suppressed = {f.code: f.suppressed for f in static.findings}
    assert suppressed["S608"] == "parameterised upstream (architecture.yaml)"
    assert suppressed["S105"] is None  # its suppression expired
    meta = report.results[-1]
    assert meta.tier == "suppressions"
    messages = " ".join(f.message for f in meta.findings)
    assert "expired on 2026-01-01 (owner sec)" in messages
    assert "needs a `reason`" in messages
    assert not report.ok


def test_a_baseline_accepts_known_findings_and_only_shrinks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    behaviour: dict[str, list[Finding] | Exception] = {
        "static": [error("static", "A"), error("static", "B")]
    }
    fake_tiers(monkeypatch, behaviour)
    ctx = context(tmp_path)
    baseline = tmp_path / "baseline.json"
    opts = dict(tiers=["static"], baseline=baseline, cache=False)
    first = runner.validate(ctx, runner.Options(update_baseline=True, **opts))  # type: ignore[arg-type]
    assert not first.ok  # writing a baseline does not accept in the same run
    assert len(json.loads(baseline.read_text())["fingerprints"]) == 2
    assert runner.validate(ctx, runner.Options(**opts)).ok  # type: ignore[arg-type]
    behaviour["static"] = [error("static", "A"), error("static", "C")]  # B fixed, C new
    report = runner.validate(ctx, runner.Options(update_baseline=True, **opts))  # type: ignore[arg-type]
    assert not report.ok  # C is not accepted
    kept = json.loads(baseline.read_text())["fingerprints"]
    assert kept == [error("static", "A").fingerprint]  # shrank, did not grow


def test_fingerprints_ignore_line_numbers_and_measured_numbers() -> None:
    a = Finding("p95", Severity.ERROR, "p95 of GET /x is 312 ms", "performance", Location(node="r"))
    b = Finding("p95", Severity.ERROR, "p95 of GET /x is 290 ms", "performance", Location(node="r"))
    assert a.fingerprint == b.fingerprint
    c = Finding("E", Severity.ERROR, "m", "static", Location(file="f.py", line=3))
    d = Finding("E", Severity.ERROR, "m", "static", Location(file="f.py", line=30))
    assert c.fingerprint == d.fingerprint
    assert (
        c.fingerprint != Finding("E", Severity.ERROR, "m", "static", Location("g.py")).fingerprint
    )

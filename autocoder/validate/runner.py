"""Run the tiers: selection, skips with reasons, concurrency, the cache, suppressions and the
baseline. The renderers turn the resulting ``Report`` into text, JSON, SARIF and JUnit.

Independent tiers run concurrently in threads (they spend their time in subprocesses); the
performance tier runs alone afterwards so that nothing else disturbs its measurements. A tier
that passed is cached under the content hash of its inputs and Autocoder's version: validating
an unchanged system again is near-instant.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from autocoder import __version__
from autocoder.validate.context import ValidateContext
from autocoder.validate.findings import (
    TIERS,
    Finding,
    Location,
    Report,
    Severity,
    Status,
    TierResult,
)
from autocoder.validate.tiers import tier_module

CACHE_FILE = ".autocoder/validate-cache.json"
SUPPRESSIONS_FILE = ".autocoder/suppressions.yaml"
BASELINE_VERSION = 1
SERIAL_TIERS = ("performance",)
INVALID = "suppression-invalid"  # measured alone, after the others


@dataclass(frozen=True)
class Suppression:
    code: str
    reason: str
    target: str | None = None  # a file prefix (OUT-relative) or an IR node id
    fingerprint: str | None = None
    owner: str | None = None
    expires: str | None = None
    origin: str = ""

    def matches(self, finding: Finding) -> bool:
        if self.fingerprint is not None:
            return finding.fingerprint == self.fingerprint
        if self.code != finding.code:
            return False
        if self.target is None:
            return True
        loc = finding.location
        if loc.node is not None and loc.node == self.target:
            return True
        where = loc.file or ""
        return where == self.target or where.startswith(self.target.rstrip("/") + "/")


@dataclass
class Options:
    tiers: list[str] = field(default_factory=lambda: list(TIERS))
    skips: dict[str, str] = field(default_factory=dict)  # tier -> reason
    baseline: Path | None = None
    update_baseline: bool = False
    cache: bool = True
    today: dt.date = field(default_factory=dt.date.today)
    progress: Callable[[str], None] = lambda line: None


def _cache_key(ctx: ValidateContext, tier: str) -> str:
    module = tier_module(tier)
    return ctx.digest(*module.INPUTS, extra=f"{__version__}\0{tier}")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
        fh.write("\n")
    os.replace(tmp, path)


def _from_json(data: dict[str, Any]) -> TierResult:
    findings = [
        Finding(
            code=f["code"],
            severity=Severity(f["severity"]),
            message=f["message"],
            tier=f["tier"],
            location=Location(**f.get("location", {})),
            hint=f.get("hint"),
            rule_name=f.get("rule_name"),
        )
        for f in data.get("findings", [])
    ]
    return TierResult(
        tier=data["tier"],
        status=Status.CACHED,
        findings=findings,
        seconds=0.0,
        checked=list(data.get("checked", [])),
        metrics=dict(data.get("metrics", {})),
    )


def _to_json(result: TierResult) -> dict[str, Any]:
    return {
        "tier": result.tier,
        "findings": [f.to_json() for f in result.findings],
        "checked": result.checked,
        "metrics": result.metrics,
    }


def _run_one(ctx: ValidateContext, tier: str) -> TierResult:
    start = time.perf_counter()
    try:
        result: TierResult = tier_module(tier).run(ctx)
    except Exception as exc:  # a bug in a tier must not pass silently: fail closed
        result = TierResult(
            tier,
            Status.FAILED,
            not_checked=[f"the {tier} tier crashed: {type(exc).__name__}: {exc}"],
        )
    if not result.seconds:
        result.seconds = time.perf_counter() - start
    result.findings = [replace(f, location=ctx.locate_node(f.location)) for f in result.findings]
    return result.settle()


def load_suppressions(ctx: ValidateContext, today: dt.date) -> tuple[list[Suppression], TierResult]:
    """Suppressions from the blueprint policy and OUT/.autocoder/suppressions.yaml; problems
    with them (no reason, expired, malformed) are findings of the ``suppressions`` pseudo-tier."""
    meta = TierResult("suppressions", Status.PASSED)
    found = [
        Suppression(
            code=s.code,
            reason=s.reason,
            target=s.target,
            owner=s.owner,
            expires=s.expires,
            origin="architecture.yaml",
        )
        for s in ctx.ir.policy.suppressions
    ]
    path = ctx.out / SUPPRESSIONS_FILE
    if path.is_file():
        meta.checked.append(SUPPRESSIONS_FILE)
        try:
            data = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8")) or {}
        except (OSError, YAMLError) as exc:
            meta.not_checked.append(f"{SUPPRESSIONS_FILE} cannot be read: {exc}")
            data = {}
        entries = data.get("suppressions", []) if isinstance(data, dict) else None
        if not isinstance(entries, list):
            meta.not_checked.append(f"{SUPPRESSIONS_FILE}: expected `suppressions: [...]`")
            entries = []
        for index, raw in enumerate(entries):
            where = Location(file=SUPPRESSIONS_FILE, node=f"suppressions[{index}]")
            if not isinstance(raw, dict) or not (raw.get("code") or raw.get("fingerprint")):
                meta.findings.append(
                    _meta(
                        where, "a suppression needs `code` or `fingerprint`", "suppression-invalid"
                    )
                )
                continue
            if not str(raw.get("reason") or "").strip():
                meta.findings.append(_meta(where, "a suppression needs a `reason`", INVALID))
                continue
            found.append(
                Suppression(
                    code=str(raw.get("code", "")),
                    reason=str(raw["reason"]),
                    target=raw.get("target"),
                    fingerprint=raw.get("fingerprint"),
                    owner=raw.get("owner"),
                    expires=str(raw["expires"]) if raw.get("expires") else None,
                    origin=SUPPRESSIONS_FILE,
                )
            )
    active = []
    for s in found:
        if s.expires is not None:
            try:
                expired = dt.date.fromisoformat(s.expires) < today
            except ValueError:
                meta.findings.append(
                    _meta(
                        Location(file=s.origin),
                        f"expiry {s.expires!r} is not a date",
                        "suppression-invalid",
                    )
                )
                continue
            if expired:
                owner = f" (owner {s.owner})" if s.owner else ""
                meta.findings.append(
                    _meta(
                        Location(file=s.origin),
                        f"the suppression of {s.code or s.fingerprint} expired on {s.expires}"
                        f"{owner}: fix the finding or renew it with a reason",
                        "suppression-expired",
                    )
                )
                continue
        active.append(s)
    return active, meta.settle()


def _meta(location: Location, message: str, code: str) -> Finding:
    return Finding(code, Severity.ERROR, message, "suppressions", location)


def _apply(results: list[TierResult], suppressions: list[Suppression], baseline: set[str]) -> None:
    for result in results:
        if result.tier == "suppressions":
            continue
        updated = []
        for f in result.findings:
            rule = next((s for s in suppressions if s.matches(f)), None)
            if rule is not None:
                f = replace(f, suppressed=f"{rule.reason} ({rule.origin})")
            elif f.fingerprint in baseline:
                f = replace(f, suppressed="accepted by the baseline")
            updated.append(f)
        result.findings = updated
        if result.status is not Status.CACHED and result.status is not Status.SKIPPED:
            result.settle()


def _read_baseline(path: Path) -> set[str] | None:
    data = _read_json(path)
    if not isinstance(data, dict) or data.get("baseline_version") != BASELINE_VERSION:
        return None
    return {str(f) for f in data.get("fingerprints", [])}


def validate(ctx: ValidateContext, options: Options) -> Report:
    """Run the selected tiers on ``ctx.out`` and return the report (nothing is written here but
    the cache and, with ``update_baseline``, the baseline)."""
    start = time.perf_counter()
    cache_path = ctx.out / CACHE_FILE
    cache = (_read_json(cache_path) or {}) if options.cache else {}
    results: dict[str, TierResult] = {}
    keys: dict[str, str] = {}
    pending: list[str] = []
    for tier in [t for t in TIERS if t in options.tiers]:
        if tier in options.skips:
            results[tier] = TierResult(tier, Status.SKIPPED, reason=options.skips[tier])
            options.progress(f"{tier}: skipped ({options.skips[tier]})")
            continue
        try:
            keys[tier] = _cache_key(ctx, tier)
        except ImportError as exc:  # a tier this installation lacks: fail closed
            results[tier] = TierResult(
                tier, Status.FAILED, not_checked=[f"the {tier} tier is not available: {exc}"]
            )
            continue
        entry = cache.get(tier) if isinstance(cache, dict) else None
        if isinstance(entry, dict) and entry.get("key") == keys[tier]:
            results[tier] = _from_json(entry["result"])
            options.progress(f"{tier}: cached (inputs unchanged)")
            continue
        pending.append(tier)

    def run(tier: str) -> TierResult:
        options.progress(f"{tier}: running")
        result = _run_one(ctx, tier)
        options.progress(f"{tier}: {result.status.value} in {result.seconds:.1f} s")
        return result

    parallel = [t for t in pending if t not in SERIAL_TIERS]
    with ThreadPoolExecutor(max_workers=max(1, min(4, len(parallel)))) as pool:
        for result in pool.map(run, parallel):
            results[result.tier] = result
    for tier in [t for t in pending if t in SERIAL_TIERS]:
        results[tier] = run(tier)

    suppressions, meta = load_suppressions(ctx, options.today)
    baseline: set[str] = set()
    if options.baseline is not None and options.baseline.is_file():
        read = _read_baseline(options.baseline)
        if read is None:
            meta.not_checked.append(f"{options.baseline} is not an Autocoder baseline")
            meta.settle()
        else:
            baseline = read
    ordered = [results[t] for t in TIERS if t in results]
    _apply(ordered, suppressions, baseline)
    if meta.findings or meta.not_checked or meta.checked:
        ordered.append(meta)

    if options.cache:
        fresh = {t: {"key": keys[t], "result": _to_json(results[t])} for t in pending}
        kept = {
            t: entry
            for t, entry in (cache.items() if isinstance(cache, dict) else [])
            if t in TIERS and t not in pending
        }
        passed = {t: e for t, e in fresh.items() if results[t].status is Status.PASSED}
        _write_json(cache_path, {**kept, **passed})
    if options.baseline is not None and options.update_baseline:
        current = {
            f.fingerprint for r in ordered for f in r.findings if f.severity is Severity.ERROR
        }
        # A baseline only ever shrinks: it keeps what it accepted and still occurs.
        kept_fps = current if not options.baseline.is_file() else (baseline & current)
        _write_json(
            options.baseline,
            {"baseline_version": BASELINE_VERSION, "fingerprints": sorted(kept_fps)},
        )
    return Report(
        out=str(ctx.out),
        results=ordered,
        autocoder_version=__version__,
        seconds=time.perf_counter() - start,
    )

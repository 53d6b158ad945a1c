"""One finding model for every tier, and the result of a validation run.

A finding has a code (an Autocoder diagnostic code, a tool's rule id such as ruff's ``S608``
or a policy rule id), a severity, a message, a location (a file with line and column, or an IR
node id), the tier that found it and a stable fingerprint. The fingerprint ignores line and
column numbers, so a finding keeps its identity when unrelated lines move: baselines and
suppressions match on it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

TIERS = (
    "blueprint",
    "static",
    "tests",
    "properties",
    "contract",
    "policy",
    "performance",
    "consistency",
)


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


class Status(StrEnum):
    PASSED = "passed"  # ran, nothing at error level
    FAILED = "failed"  # ran, found errors (or could not inspect an input: fail closed)
    SKIPPED = "skipped"  # skipped on request, with a reason
    CACHED = "cached"  # the inputs are unchanged since a run that passed


@dataclass(frozen=True)
class Location:
    """Where a finding is: ``file`` relative to OUT (with 1-based line/col when known), or an
    IR node id such as ``component:api``."""

    file: str | None = None
    line: int = 0
    col: int = 0
    node: str | None = None

    def __str__(self) -> str:
        if self.file is None:
            return self.node or "-"
        if self.line:
            return f"{self.file}:{self.line}:{self.col or 1}"
        return self.file


_VOLATILE = re.compile(r"\b\d+(\.\d+)?\s*(ms|s|%|req/s|rps)\b|0x[0-9a-f]+|\bat line \d+")


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    message: str
    tier: str
    location: Location = field(default_factory=Location)
    hint: str | None = None
    rule_name: str | None = None  # a short human name of the rule/code, for reports
    suppressed: str | None = None  # the reason, when a suppression or the baseline accepts it

    @property
    def fingerprint(self) -> str:
        """Stable identity: tier, code, IR node (else file) and the message without volatile
        numbers (measured timings, addresses); line and column are left out on purpose."""
        where = self.location.node or self.location.file or ""
        text = _VOLATILE.sub("#", self.message)
        digest = hashlib.sha256(f"{self.tier}\0{self.code}\0{where}\0{text}".encode())
        return digest.hexdigest()[:32]

    @property
    def blocking(self) -> bool:
        return self.severity is Severity.ERROR and self.suppressed is None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = self.severity.value
        data["fingerprint"] = self.fingerprint
        data["location"] = {k: v for k, v in asdict(self.location).items() if v not in (None, 0)}
        return {k: v for k, v in data.items() if v is not None}


@dataclass
class TierResult:
    """What one tier did: its findings, how long it took, and what it did and did not check."""

    tier: str
    status: Status
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0
    checked: list[str] = field(default_factory=list)  # what was inspected, one line each
    not_checked: list[str] = field(default_factory=list)  # what could not be, and why
    reason: str | None = None  # why it was skipped
    metrics: dict[str, Any] = field(default_factory=dict)  # measured numbers (performance)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.blocking]

    def settle(self) -> TierResult:
        """Set the status from the findings (a tier that could not inspect something fails)."""
        if self.status is Status.SKIPPED or self.status is Status.CACHED:
            return self
        self.status = Status.FAILED if self.errors or self.not_checked else Status.PASSED
        return self


@dataclass
class Report:
    """A whole validation run."""

    out: str
    results: list[TierResult]
    autocoder_version: str
    seconds: float = 0.0

    @property
    def findings(self) -> list[Finding]:
        return [f for r in self.results for f in r.findings]

    @property
    def ok(self) -> bool:
        return all(r.status in (Status.PASSED, Status.CACHED, Status.SKIPPED) for r in self.results)

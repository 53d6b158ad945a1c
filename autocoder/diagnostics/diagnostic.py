"""The ``Diagnostic`` record every user-facing problem is reported as."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autocoder.diagnostics.codes import Code
    from autocoder.diagnostics.span import Span


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


class Stage(StrEnum):
    """The compiler phase that found a problem (shown in JSON output, used by repair loops)."""

    USAGE = "usage"
    LOAD = "load"
    SCHEMA = "schema"
    RESOLVE = "resolve"
    DEPLOYMENT = "deployment"
    POLICY = "policy"
    IR = "ir"
    GENERATE = "generate"
    VERIFY = "verify"
    INTERNAL = "internal"


@dataclass(frozen=True)
class Diagnostic:
    """One problem: a registered code, a message, where it is, and how to fix it."""

    code: Code
    message: str
    span: Span | None = None
    hint: str | None = None
    pointer: str | None = None
    severity: Severity = field(default=Severity.ERROR)
    suppressed_by: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR and self.suppressed_by is None

    def sort_key(self) -> tuple[str, int, int, str, str]:
        if self.span is None:
            return ("", 0, 0, self.code.id, self.message)
        return (self.span.file, self.span.line, self.span.col, self.code.id, self.message)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "code": self.code.id,
            "name": self.code.name,
            "severity": str(self.severity),
            "stage": str(self.code.stage),
            "message": self.message,
        }
        if self.span is not None:
            out["span"] = self.span.to_json()
        if self.pointer is not None:
            out["pointer"] = self.pointer
        if self.hint:
            out["hint"] = self.hint
        if self.suppressed_by is not None:
            out["suppressed_by"] = self.suppressed_by
        return out

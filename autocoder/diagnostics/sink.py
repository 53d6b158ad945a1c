"""Collects diagnostics, resolves JSON pointers to spans, and applies suppressions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Protocol

from autocoder.diagnostics import codes
from autocoder.diagnostics.codes import Code
from autocoder.diagnostics.diagnostic import Diagnostic, Severity
from autocoder.diagnostics.span import Span


class SpanIndex(Protocol):
    """Anything that maps a JSON pointer in one file to a span (the YAML loader's table)."""

    def span_for(self, pointer: str, *, key: bool = False) -> Span: ...


@dataclass(frozen=True)
class Suppression:
    """A waiver from the policy block: ``code`` at ``target`` (a JSON pointer prefix)."""

    code: str
    reason: str
    pointer: str
    expires: dt.date | None = None
    target: str | None = None
    owner: str | None = None

    def matches(self, diagnostic: Diagnostic) -> bool:
        if diagnostic.code.id != self.code and diagnostic.code.name != self.code:
            return False
        if self.target is None:
            return True
        where = diagnostic.pointer or ""
        return where == self.target or where.startswith(self.target.rstrip("/") + "/")


class DiagnosticSink:
    """The one place diagnostics go. Passes call :meth:`report`; nothing raises for bad input."""

    def __init__(self) -> None:
        self._items: list[Diagnostic] = []
        self._indexes: dict[str, SpanIndex] = {}
        self.sources: dict[str, str] = {}

    # -- sources -------------------------------------------------------------------------------
    def add_source(self, file: str, text: str, index: SpanIndex | None = None) -> None:
        """Register a file's text (for carets) and its pointer table (for spans)."""
        self.sources[file] = text
        if index is not None:
            self._indexes[file] = index

    def span_for(self, file: str, pointer: str, *, key: bool = False) -> Span:
        index = self._indexes.get(file)
        if index is None:
            return Span(file)
        return index.span_for(pointer, key=key)

    # -- reporting -----------------------------------------------------------------------------
    def report(
        self,
        code: Code,
        message: str,
        *,
        file: str | None = None,
        pointer: str | None = None,
        span: Span | None = None,
        hint: str | None = None,
        key: bool = False,
        severity: Severity | None = None,
    ) -> Diagnostic:
        """Record a diagnostic. With ``file`` + ``pointer`` the span is looked up."""
        if span is None and file is not None:
            span = self.span_for(file, pointer or "", key=key)
        diagnostic = Diagnostic(
            code=code,
            message=message,
            span=span,
            hint=hint,
            pointer=pointer,
            severity=severity or code.severity,
        )
        self._items.append(diagnostic)
        return diagnostic

    def extend(self, diagnostics: Iterable[Diagnostic]) -> None:
        self._items.extend(diagnostics)

    # -- results -------------------------------------------------------------------------------
    @property
    def diagnostics(self) -> list[Diagnostic]:
        """All diagnostics in a stable order (file, line, column, code)."""
        return sorted(self._items, key=Diagnostic.sort_key)

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self._items)

    def counts(self) -> Mapping[str, int]:
        active = [d for d in self._items if d.suppressed_by is None]
        return {
            "errors": sum(d.severity is Severity.ERROR for d in active),
            "warnings": sum(d.severity is Severity.WARNING for d in active),
            "notes": sum(d.severity is Severity.NOTE for d in active),
            "suppressed": len(self._items) - len(active),
        }

    def apply_suppressions(
        self,
        suppressions: Iterable[Suppression],
        *,
        file: str,
        today: dt.date,
        elsewhere: Collection[str] = (),
    ) -> None:
        """Mark matching diagnostics suppressed; report expired, unknown and unused waivers.
        Suppressions of ``elsewhere`` codes (the change rules of ``autocoder diff``) are left
        to the command that reports those findings."""
        seen: set[tuple[str, str | None]] = set()
        live: list[Suppression] = []
        for sup in suppressions:
            if sup.code in elsewhere:
                continue
            code = codes.lookup(sup.code)
            if code is None or not code.suppressible:
                why = "is not a known code" if code is None else "cannot be suppressed"
                self.report(
                    codes.SUPPRESSION_NOT_ALLOWED,
                    f"suppression for {sup.code!r}: the code {why}",
                    file=file,
                    pointer=sup.pointer + "/code",
                    hint="see docs/diagnostics.md for the codes marked suppressible",
                )
                continue
            if (code.id, sup.target) in seen:
                self.report(
                    codes.DUPLICATE_SUPPRESSION,
                    f"duplicate suppression of {code.id} at {sup.target or 'any location'}",
                    file=file,
                    pointer=sup.pointer,
                )
            seen.add((code.id, sup.target))
            if sup.expires is not None and sup.expires < today:
                self.report(
                    codes.SUPPRESSION_EXPIRED,
                    f"suppression of {code.id} expired on {sup.expires.isoformat()}",
                    file=file,
                    pointer=sup.pointer + "/expires",
                    hint="fix the finding, or renew the suppression with a new date and reason",
                )
                continue
            live.append(replace(sup, code=code.id))
        used: set[int] = set()
        for i, diagnostic in enumerate(self._items):
            if not diagnostic.code.suppressible or diagnostic.suppressed_by is not None:
                continue
            for n, sup in enumerate(live):
                if sup.matches(diagnostic):
                    self._items[i] = replace(diagnostic, suppressed_by=sup.reason)
                    used.add(n)
                    break
        for n, sup in enumerate(live):
            if n not in used:
                self.report(
                    codes.SUPPRESSION_UNUSED,
                    f"suppression of {sup.code} matched nothing",
                    file=file,
                    pointer=sup.pointer,
                    hint="remove it so it cannot hide a future problem",
                )

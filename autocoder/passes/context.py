"""What a pass gets: the IR, indexes over it, the raw blueprints and the diagnostic sink."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from autocoder.diagnostics import Code, DiagnosticSink, Severity
from autocoder.ir.models import IR, Component, Port, TypeDef


@dataclass
class PassContext:
    ir: IR
    sink: DiagnosticSink
    files: dict[str, str]  # origin file name ("architecture.yaml") -> name shown to the user
    deployment_raw: dict[str, Any] = field(default_factory=dict)
    components: dict[str, Component] = field(init=False)
    types: dict[str, TypeDef] = field(init=False)

    def __post_init__(self) -> None:
        self.components = {c.name: c for c in self.ir.components}
        self.types = {t.name: t for t in self.ir.types}

    def port(self, component: str, name: str) -> Port | None:
        c = self.components.get(component)
        return c.port(name) if c is not None else None

    def written(self, origin: str) -> bool:
        """Whether the blueprint spells out ``origin`` (rather than it being a default).

        The IR merges defaults into configs; a diagnostic about a default value should point
        at what the user wrote instead. A pointer that is not in the file resolves to the
        same span as its parent (the loader falls back to the nearest ancestor).
        """
        base, _, pointer = origin.partition("#")
        if not pointer:
            return True
        file = self.files.get(base, base)
        parent = pointer.rsplit("/", 1)[0]
        return self.sink.span_for(file, pointer) != self.sink.span_for(file, parent)

    def report(
        self,
        code: Code,
        message: str,
        origin: str,
        *,
        hint: str | None = None,
        key: bool = False,
        severity: Severity | None = None,
    ) -> None:
        """Report at an IR origin (``architecture.yaml#/components/api``)."""
        base, _, pointer = origin.partition("#")
        self.sink.report(
            code,
            message,
            file=self.files.get(base, base),
            pointer=pointer,
            hint=hint,
            key=key,
            severity=severity,
        )

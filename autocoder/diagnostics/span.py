"""Source positions: a ``Span`` names a file region with 1-based line and column numbers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Span:
    """A region of a source file. ``line``/``col`` are 1-based; 0 means the whole file."""

    file: str
    line: int = 0
    col: int = 0
    end_line: int | None = None
    end_col: int | None = None

    def __str__(self) -> str:
        if self.line == 0:
            return self.file
        return f"{self.file}:{self.line}:{self.col}"

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"file": self.file, "line": self.line, "col": self.col}
        if self.end_line is not None:
            out["end_line"] = self.end_line
        if self.end_col is not None:
            out["end_col"] = self.end_col
        return out

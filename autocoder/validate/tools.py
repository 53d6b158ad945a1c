"""Running a tool for a tier: a bounded subprocess whose failure to run is reported, not raised
as a crash, and the tail of its output for the report."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

TAIL_LINES = 20


class ToolError(Exception):
    """The tool could not be started or gave no result in time (the tier did not check)."""


def tail(text: str, lines: int = TAIL_LINES) -> str:
    """The last ``lines`` lines of a tool's output."""
    return "\n".join(text.strip().splitlines()[-lines:])


def run_tool(
    command: Sequence[str],
    *,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float,
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` capturing text output; any exit status is returned to the caller."""
    try:
        return subprocess.run(  # noqa: S603 - tools of Autocoder or of the service, on OUT
            list(command),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ToolError(f"no result within {timeout:g} s") from exc
    except OSError as exc:
        raise ToolError(f"could not run: {exc}") from exc

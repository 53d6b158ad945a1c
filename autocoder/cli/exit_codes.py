"""Process exit codes (documented in docs/cli.md and adrs/0003-exit-codes.md)."""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum

from autocoder.diagnostics import Diagnostic, Stage


class ExitCode(IntEnum):
    OK = 0
    INPUT_ERRORS = 1  # the input (or the generated system) has errors
    USAGE = 2  # usage, configuration or I/O error
    INTERNAL = 70  # a bug in Autocoder (EX_SOFTWARE from sysexits.h)


def exit_code_for(diagnostics: Iterable[Diagnostic]) -> ExitCode:
    errors = [d for d in diagnostics if d.is_error]
    if not errors:
        return ExitCode.OK
    if any(d.code.stage is Stage.INTERNAL for d in errors):
        return ExitCode.INTERNAL
    if any(d.code.stage is Stage.USAGE for d in errors):
        return ExitCode.USAGE
    return ExitCode.INPUT_ERRORS

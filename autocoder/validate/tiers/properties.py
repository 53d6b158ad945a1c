"""The ``properties`` tier: the service's hypothesis tests (``tests/test_properties.py``).

They are derived from the port and request types. The run uses a fixed seed so a failure
reproduces; its finding carries hypothesis's falsifying example.
"""

from __future__ import annotations

import re
import time

from autocoder.validate.context import ValidateContext
from autocoder.validate.findings import Status, TierResult
from autocoder.validate.tiers.tests import PROPERTIES, run_pytest

NAME = "properties"
INPUTS = ("service",)

SEED = 0
EXAMPLE_LIMIT = 240

# hypothesis names the failing call "Falsifying example" (older) or "Failing test case"
_EXAMPLE = re.compile(
    r"(?:Falsifying example|Failing test case): (\w+)\((.*?)\n(?:E\s+)?\)", re.DOTALL
)
_ARGUMENT = re.compile(r"^(?:E\s+)?\s*(\w+)=(.*?),?$")
_COMMENT = re.compile(r",\s+# [^'\"]*$")  # "body=,  # or any other generated value"
_OBJECT = re.compile(r"^<[^<>]* object at 0x[0-9a-f]+>$")  # fixtures such as the test client


def falsifying_example(text: str) -> str | None:
    """Hypothesis's falsifying example in a failure's text, on one line, fixtures left out.
    An argument hypothesis prints empty (pytest shows it among the frame's locals) is taken
    from the traceback."""
    match = _EXAMPLE.search(text)
    if match is None:
        return None
    arguments = []
    for line in match.group(2).splitlines():
        found = _ARGUMENT.match(_COMMENT.sub(",", line))
        if found is None:
            continue
        name, value = found.group(1), found.group(2).strip()
        if not value:
            local = re.findall(rf"^{name} = (.*)$", text, re.MULTILINE)
            value = local[-1].strip() if local else "?"
        if not _OBJECT.match(value):
            arguments.append(f"{name}={value}")
    example = f"{match.group(1)}({', '.join(arguments)})"
    if len(example) > EXAMPLE_LIMIT:
        example = example[: EXAMPLE_LIMIT - 4] + "...)"
    return example


def _detail(first: str, text: str) -> str:
    example = falsifying_example(text)
    return f"{first}; falsifying example: {example}" if example else first


def run(ctx: ValidateContext) -> TierResult:
    started = time.perf_counter()
    result = TierResult(tier=NAME, status=Status.PASSED)
    if not (ctx.service / PROPERTIES).is_file():
        result.checked.append(
            f"{ctx.relative(ctx.service / PROPERTIES)}: absent (no type yields a property test)"
        )
    else:
        run_pytest(ctx, result, [f"--hypothesis-seed={SEED}", PROPERTIES], detail=_detail)
    result.seconds = time.perf_counter() - started
    return result.settle()

"""Generate docs/diagnostics.md from the code registry (`python -m autocoder.diagnostics.docs`).

A test regenerates the page and fails when it drifts from ``codes.REGISTRY``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from autocoder.diagnostics.codes import REGISTRY

_GROUPS = (
    ("AC0", "Usage, configuration and I/O (exit code 2)"),
    ("AC1", "Reading YAML"),
    ("AC2", "Blueprint schema"),
    ("AC3", "Architecture semantics"),
    ("AC4", "Deployment"),
    ("AC5", "Suppressions"),
    ("AC6", "IR files"),
    ("AC9", "Internal errors (exit code 70)"),
)


def render() -> str:
    out = [
        "# Diagnostics",
        "",
        "<!-- Generated from autocoder/diagnostics/codes.py by "
        "`python -m autocoder.diagnostics.docs`; do not edit. -->",
        "",
        "Every problem Autocoder reports has a stable code. Text output looks like",
        "",
        "```",
        "examples/todo-api/architecture.yaml:42:15: error: unknown component 'todo' in todo.create"
        "  [AC3001]",
        "   42 |         call: todo.create",
        "      |               ^~~~~~~~~~~",
        "  hint: did you mean 'todos'?",
        "```",
        "",
        "`--format json` prints the same diagnostics as one JSON document "
        "(`{version, diagnostics: [{code, name, severity, stage, message, span, pointer, hint}], "
        "summary}`). `autocoder explain CODE` prints one entry of this page.",
        "",
        "**Suppressing.** Codes marked *suppressible* can be waived in `policy.suppressions` "
        "of architecture.yaml with a `reason`, optionally an `owner`, an `expires` date and a "
        "`target` JSON pointer. An expired suppression is an error (AC5001), one that matches "
        "nothing is a warning (AC5002), and a suppression of a code that is not suppressible "
        "is an error (AC5003).",
        "",
        "| code | name | severity | suppressible | summary |",
        "| --- | --- | --- | --- | --- |",
    ]
    for code in sorted(REGISTRY.values(), key=lambda c: c.id):
        out.append(
            f"| [{code.id}](#{code.id.lower()}-{code.name}) | `{code.name}` | {code.severity} | "
            f"{'yes' if code.suppressible else 'no'} | {code.summary} |"
        )
    for prefix, title in _GROUPS:
        out += ["", f"## {title}"]
        for code in sorted(REGISTRY.values(), key=lambda c: c.id):
            if code.id.startswith(prefix):
                out += [
                    "",
                    f"### {code.id} {code.name}",
                    "",
                    f"*{code.severity}, stage `{code.stage}`, "
                    f"{'suppressible' if code.suppressible else 'not suppressible'}.* "
                    f"{code.summary}",
                    "",
                    code.explanation,
                ]
    return "\n".join(out) + "\n"


def main() -> int:
    target = Path(__file__).resolve().parents[2] / "docs" / "diagnostics.md"
    text = render()
    if "--check" in sys.argv:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        return 0 if current == text else 1
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

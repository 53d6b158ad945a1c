"""The ``static`` tier: ruff, ruff format and bandit over the generated service, and the custom
logic check.

The linters run in OUT/service with the service's own configuration (its pyproject.toml). The
custom logic check imports every user-owned module of app/logic/ in the service's interpreter
and reports each method of the generated base that is still unimplemented (not overridden, or
overridden by a stub that only raises or passes), naming the file and the method.
"""

from __future__ import annotations

import ast
import json
import re
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

from autocoder.validate.context import ValidateContext
from autocoder.validate.findings import Finding, Location, Severity, Status, TierResult
from autocoder.validate.tools import ToolError, run_tool

NAME = "static"
INPUTS = ("service",)

TOOL_TIMEOUT = 300
LOGIC_TIMEOUT = 120
LOGIC_UNIMPLEMENTED = "logic-unimplemented"
LOGIC_MOCK_MODE = "logic-mock-mode"
LOGIC_BROKEN = "logic-import-failed"
FORMAT_CODE = "unformatted"
_MARKER = "AUTOCODER-LOGIC-REPORT "

# Runs in the service's interpreter (cwd OUT/service, argv: the logic module names). Classes are
# found by their base, never instantiated: __new__ alone gives `unimplemented` its type.
LOGIC_SCRIPT = f"""
import importlib, inspect, json, sys, traceback
report = {{}}
try:
    logic_base = importlib.import_module("app.logic_base")
    unimplemented = logic_base.unimplemented
    mocked = getattr(logic_base, "mocked", lambda logic: [])
except BaseException as exc:
    print({_MARKER!r} + json.dumps({{"fatal": traceback.format_exception_only(exc)[-1].strip()}}))
    raise SystemExit(0)
for name in sys.argv[1:]:
    entry = {{"classes": []}}
    try:
        module = importlib.import_module("app.logic." + name)
        for cls in list(vars(module).values()):
            if not inspect.isclass(cls) or cls.__module__ != module.__name__:
                continue
            bases = [b for b in cls.__mro__[1:] if b.__name__.endswith("LogicBase")
                     and b.__module__.startswith("app.logic_base.")]
            if bases:
                entry["classes"].append({{
                    "class": cls.__name__, "base": bases[0].__name__,
                    "base_module": bases[0].__module__,
                    "missing": list(unimplemented(cls.__new__(cls))),
                    "mocked": list(mocked(cls.__new__(cls))),
                }})
    except BaseException as exc:
        entry["error"] = traceback.format_exception_only(exc)[-1].strip()
    report[name] = entry
print({_MARKER!r} + json.dumps(report))
"""


class _ToolFailedError(Exception):
    """A tool could not run or gave output that cannot be read: not checked."""


def run(ctx: ValidateContext) -> TierResult:
    start = time.perf_counter()
    result = TierResult(NAME, Status.PASSED)
    if not (ctx.service / "pyproject.toml").is_file():
        result.not_checked.append("service: no service/pyproject.toml to lint")
    else:
        python_files = len(ctx.files("service", suffixes=(".py",)))
        for label, check in (
            ("ruff check", _ruff_check),
            ("ruff format", _ruff_format),
            ("bandit", _bandit),
            ("custom logic", _custom_logic),
        ):
            try:
                summary = check(ctx, result)
            except _ToolFailedError as exc:
                result.not_checked.append(f"{label}: {exc}")
            else:
                result.checked.append(f"{label}: {summary or f'{python_files} files'}")
    result.seconds = time.perf_counter() - start
    return result.settle()


def _tool(ctx: ValidateContext, args: list[str], *, ok: tuple[int, ...] = (0, 1)) -> str:
    """Run a tool module of this interpreter in OUT/service; its stdout."""
    try:
        done = run_tool(
            [sys.executable, "-m", *args],
            cwd=ctx.service,
            env=ctx.subprocess_env,
            timeout=TOOL_TIMEOUT,
        )
    except ToolError as exc:
        raise _ToolFailedError(str(exc)) from exc
    if done.returncode not in ok:
        raise _ToolFailedError(f"exited with {done.returncode}: {_tail(done.stderr)}")
    return done.stdout


def _tail(text: str, limit: int = 400) -> str:
    text = text.strip()
    return text if len(text) <= limit else "..." + text[-limit:]


def _service_file(ctx: ValidateContext, name: str) -> str:
    path = Path(name)
    return ctx.relative(path if path.is_absolute() else ctx.service / path)


def _ruff_check(ctx: ValidateContext, result: TierResult) -> str:
    output = _tool(ctx, ["ruff", "check", "--no-cache", "--output-format", "json", "."])
    try:
        items = json.loads(output)
        for item in items:
            code = item.get("code") or item.get("name") or "syntax-error"
            fixable = (item.get("fix") or {}).get("applicability") == "safe"
            location = item.get("location") or {}
            result.findings.append(
                Finding(
                    code=str(code),
                    severity=Severity.ERROR,
                    message=str(item["message"]),
                    tier=NAME,
                    location=Location(
                        _service_file(ctx, str(item["filename"])),
                        int(location.get("row") or 0),
                        int(location.get("column") or 0),
                    ),
                    hint="`ruff check --fix` in service/ fixes it"
                    if fixable
                    else item.get("url") or None,
                    rule_name=item.get("name"),
                )
            )
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise _ToolFailedError(f"unreadable output ({exc}): {_tail(output)}") from exc
    return ""


_HUNK = re.compile(r"^@@ -(\d+)")


def _ruff_format(ctx: ValidateContext, result: TierResult) -> str:
    output = _tool(ctx, ["ruff", "format", "--no-cache", "--diff", "."])
    changed: dict[str, int] = {}  # file -> first changed line
    current: str | None = None
    line = 0
    for text in output.splitlines():
        if text.startswith("--- "):
            current = text[4:].strip()
            changed.setdefault(current, 0)
        elif current is not None and (match := _HUNK.match(text)):
            line = int(match.group(1))
        elif current is not None and changed[current] == 0 and line:
            if text.startswith(("+", "-")) and not text.startswith(("+++", "---")):
                changed[current] = line
            elif text.startswith(" "):
                line += 1
    if output.strip() and not changed:
        raise _ToolFailedError(f"unreadable diff: {_tail(output)}")
    for file, first in sorted(changed.items()):
        result.findings.append(
            Finding(
                code=FORMAT_CODE,
                severity=Severity.ERROR,
                message="ruff format would reformat this file",
                tier=NAME,
                location=Location(_service_file(ctx, file), first, 1 if first else 0),
                hint="run `ruff format` in service/",
                rule_name="ruff-format",
            )
        )
    return ""


def _bandit(ctx: ValidateContext, result: TierResult) -> str:
    if not (ctx.service / "app").is_dir():
        raise _ToolFailedError("service/app is missing")
    args = ["bandit", "-r", "app", "-f", "json", "-q"]
    try:
        config = tomllib.loads((ctx.service / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise _ToolFailedError(f"cannot read service/pyproject.toml: {exc}") from exc
    if "bandit" in config.get("tool", {}):
        args += ["-c", "pyproject.toml"]
    output = _tool(ctx, args)
    try:
        report = json.loads(output)
        for error in report.get("errors") or []:
            file = _service_file(ctx, str(error.get("filename")))
            result.not_checked.append(f"bandit: {file}: {error.get('reason')}")
        for item in report["results"]:
            result.findings.append(
                Finding(
                    code=str(item["test_id"]),
                    severity=Severity.WARNING
                    if item.get("issue_severity") == "LOW"
                    else Severity.ERROR,
                    message=str(item["issue_text"]),
                    tier=NAME,
                    location=Location(
                        _service_file(ctx, str(item["filename"])),
                        int(item.get("line_number") or 0),
                        int(item.get("col_offset") or 0) + 1,
                    ),
                    hint=item.get("more_info") or None,
                    rule_name=item.get("test_name"),
                )
            )
        lines = int(report["metrics"]["_totals"]["loc"])
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise _ToolFailedError(f"unreadable output ({exc}): {_tail(output)}") from exc
    return f"service/app, {lines} lines"


# --- custom logic ---------------------------------------------------------------------------


def _custom_logic(ctx: ValidateContext, result: TierResult) -> str:
    logic = ctx.service / "app" / "logic"
    bases = ctx.service / "app" / "logic_base"
    modules = sorted(p.stem for p in logic.glob("*.py") if p.name != "__init__.py")
    for missing in sorted(
        p.stem for p in bases.glob("*.py") if p.name != "__init__.py" and p.stem not in modules
    ):
        file = f"service/app/logic/{missing}.py"
        result.findings.append(
            _logic_finding(
                f"custom logic module {file} is missing (app/logic_base/{missing}.py expects it)",
                Location(file),
                "rebuild with `autocoder build`: it creates the module for you to fill in",
            )
        )
    if not modules:
        return "no user-owned modules"
    try:
        python = ctx.service_python()
    except Exception as exc:  # pip, venv, a malformed pyproject: all fail closed
        raise _ToolFailedError(f"the service's environment could not be made: {exc}") from exc
    try:
        done = run_tool(
            [str(python), "-c", LOGIC_SCRIPT, *modules],
            cwd=ctx.service,
            env=ctx.subprocess_env,
            timeout=LOGIC_TIMEOUT,
        )
    except ToolError as exc:
        raise _ToolFailedError(f"the service's interpreter: {exc}") from exc
    lines = [line for line in done.stdout.splitlines() if line.startswith(_MARKER)]
    if done.returncode != 0 or not lines:
        raise _ToolFailedError(f"the check exited with {done.returncode}: {_tail(done.stderr)}")
    try:
        report: dict[str, Any] = json.loads(lines[-1][len(_MARKER) :])
    except ValueError as exc:
        raise _ToolFailedError(f"unreadable report: {exc}") from exc
    if "fatal" in report:
        raise _ToolFailedError(f"app.logic_base cannot be imported: {report['fatal']}")
    methods = 0
    for module in modules:
        methods += _logic_module(ctx, module, report.get(module) or {}, result)
    return f"{len(modules)} module(s), {methods} method(s) of generated bases"


def _logic_module(
    ctx: ValidateContext, module: str, entry: dict[str, Any], result: TierResult
) -> int:
    file = f"service/app/logic/{module}.py"
    source = ctx.service / "app" / "logic" / f"{module}.py"
    if entry.get("error"):
        result.findings.append(
            Finding(
                LOGIC_BROKEN,
                Severity.ERROR,
                f"custom logic module {file} cannot be imported: {entry['error']}",
                NAME,
                Location(file),
                "the service cannot start until the module imports",
                "custom-logic",
            )
        )
        return 0
    classes = entry.get("classes") or []
    if not classes:
        result.findings.append(
            _logic_finding(
                f"custom logic module {file} defines no subclass of its generated LogicBase",
                Location(file),
                f"keep the class that app/system.py imports from app/logic/{module}.py",
            )
        )
        return 0
    tree = _parse(source)
    methods = 0
    for found in classes:
        base_file = ctx.service / Path(*str(found["base_module"]).split(".")).with_suffix(".py")
        declared = _base_methods(base_file)
        methods += len(declared)
        node = _class_node(tree, str(found["class"]))
        stubs = _stubs(node, set(declared)) if node is not None else {}
        missing = set(found.get("missing") or []) | set(stubs)
        for method in sorted(missing):
            component = declared.get(method, module)
            line = stubs.get(method) or (node.lineno if node is not None else 0)
            result.findings.append(
                _logic_finding(
                    f"custom logic {component}.{method} is not implemented: write {method}() "
                    f"in {file}",
                    Location(file, line, 1 if line else 0),
                    f"override {method}() of {found['base']} in class {found['class']}",
                )
            )
        for method in sorted(set(found.get("mocked") or []) - missing):
            line = node.lineno if node is not None else 0
            result.findings.append(
                Finding(
                    LOGIC_MOCK_MODE,
                    Severity.NOTE,
                    f"{module}.{method} answers in mock mode (the contract's example): write "
                    f"{method}() in {file}",
                    NAME,
                    Location(file, line, 1 if line else 0),
                    f"override {method}() of {found['base']} in class {found['class']}",
                    "contract operation in mock mode",
                )
            )
    return methods


def _logic_finding(message: str, location: Location, hint: str) -> Finding:
    return Finding(
        LOGIC_UNIMPLEMENTED, Severity.ERROR, message, NAME, location, hint, "custom-logic"
    )


def _parse(path: Path) -> ast.Module | None:
    try:
        return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return None


def _class_node(tree: ast.Module | None, name: str) -> ast.ClassDef | None:
    if tree is None:
        return None
    return next(
        (n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name),
        None,
    )


def _base_methods(path: Path) -> dict[str, str]:
    """Method -> component of each ``raise LogicNotImplementedError(component, method, ...)``
    in a generated base."""
    declared: dict[str, str] = {}
    for node in ast.walk(_parse(path) or ast.Module(body=[], type_ignores=[])):
        if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef):
            for raised in ast.walk(node):
                if (
                    isinstance(raised, ast.Call)
                    and isinstance(raised.func, ast.Name)
                    and raised.func.id == "LogicNotImplementedError"
                    and raised.args
                    and isinstance(raised.args[0], ast.Constant)
                ):
                    declared[node.name] = str(raised.args[0].value)
    return declared


def _stubs(node: ast.ClassDef, methods: set[str]) -> dict[str, int]:
    """Methods of the base the class overrides with a body that does nothing but pass, ``...``
    or raise NotImplementedError: method -> line."""
    found: dict[str, int] = {}
    for item in node.body:
        if (
            isinstance(item, ast.AsyncFunctionDef | ast.FunctionDef)
            and item.name in methods
            and all(_is_placeholder(statement) for statement in item.body)
        ):
            found[item.name] = item.lineno
    return found


def _is_placeholder(statement: ast.stmt) -> bool:
    if isinstance(statement, ast.Pass):
        return True
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
        return True  # a docstring or `...`
    if isinstance(statement, ast.Raise) and statement.exc is not None:
        raised = statement.exc.func if isinstance(statement.exc, ast.Call) else statement.exc
        name = raised.id if isinstance(raised, ast.Name) else getattr(raised, "attr", "")
        return name in ("NotImplementedError", "LogicNotImplementedError")
    return False

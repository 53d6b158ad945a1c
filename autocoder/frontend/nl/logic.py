"""Custom logic written by a model: the bodies of the methods a generated base leaves open.

For each component with ``logic: {mode: custom, owner: llm}`` the model answers the tool
``write_methods`` with method bodies only. The module around them is assembled here from the
generated base's own signatures, so the model can never change one. Model output is data in
this process: it is parsed, walked for forbidden names, linted (ruff, bandit) and runs only
inside the generated service's own test process, in a copy of the service. Findings go back to
the model for at most ``max_repairs`` rounds. Every request is a pure function of the prompt
files, the generated service and the earlier answers (test output is scrubbed of paths and
timings), so a lockfile replays a session exactly.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Collection
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from autocoder.backends.python_service.views import pascal, snake
from autocoder.ir.models import IR, Component
from autocoder.llm.types import Completion, CompletionRequest, Message, Provider, ToolSpec
from autocoder.output.format import ruff_command
from autocoder.resources import data_dir

from .prompts import PromptSet

WRITE_METHODS = "write_methods"
MAX_TOKENS = 8192
TEST_TIMEOUT = 900  # seconds for the whole generated suite
RUFF_OPTIONS = ["--isolated", "--no-cache", "--line-length", "100", "--target-version", "py311"]
RUFF_FIX = ["check", "--fix-only", "--select", "I,F401,UP", "--exit-zero", *RUFF_OPTIONS]
RUFF_CHECK = ["check", "--select", "E,F,W,I,B,UP,S", "--output-format", "json", *RUFF_OPTIONS]
RUFF_FORMAT = ["format", *RUFF_OPTIONS]
BANDIT = ["-m", "bandit", "-f", "json", "-q"]
# Seeded (hypothesis, hash order): the findings of a run go back to the model, and a replay
# from the lockfile must send the same request again.
PYTEST = [
    *("-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "--tb=short", "-rfEs"),
    "--hypothesis-seed=0",
]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Imports a body may use: this part of the standard library, the modules the generated base
# imports itself, and the service's own models, bases and runtime (relative imports).
ALLOWED_MODULES = _words(
    "__future__ abc base64 binascii bisect calendar cmath collections contextlib copy "
    "dataclasses datetime decimal difflib enum fractions functools hashlib heapq hmac html "
    "ipaddress itertools json logging math numbers operator re statistics string textwrap "
    "typing unicodedata uuid zoneinfo zlib"
)
SERVICE_PACKAGES = frozenset({"models", "logic_base", "runtime"})
FORBIDDEN_MODULES = _words(
    "os sys subprocess socket socketserver ssl urllib http requests httpx aiohttp ftplib "
    "smtplib telnetlib xmlrpc webbrowser importlib pickle marshal shelve dbm sqlite3 ctypes "
    "multiprocessing threading concurrent asyncio shutil pathlib io tempfile glob builtins pty "
    "signal code codeop runpy inspect gc mmap resource fcntl select selectors platform "
    "random secrets"
)
FORBIDDEN_CALLS = _words(
    "eval exec compile __import__ open breakpoint input globals locals vars exit quit help"
)
FORBIDDEN_ATTRIBUTES = _words(
    "__globals__ __builtins__ __subclasses__ __code__ __closure__ __import__ __loader__ "
    "__spec__ __bases__ __mro__ __reduce__ __reduce_ex__ __getattribute__ f_globals f_locals "
    "gi_frame cr_frame run_process open_process connect_tcp connect_unix open_file "
    "create_subprocess_exec create_subprocess_shell open_connection start_server"
)
_BUILTIN_NAMES = frozenset(dir(builtins))
_SECRET_ENV = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL|DATABASE_URL", re.IGNORECASE)


@dataclass
class LogicAttempt:
    """One answer of the model for one component and what the checks said about it."""

    component: str
    round: int  # 0 for the first answer, then one per repair round
    prompt_sha256: str  # of system + messages of the request
    methods: dict[str, str]  # what the model answered: method name -> body source
    findings: list[str]  # "file:line: code message"; empty when every check passed


@dataclass
class LogicOutcome:
    written: dict[str, str] = field(default_factory=dict)  # "api.py" -> module source
    failed: dict[str, list[str]] = field(default_factory=dict)  # component -> last findings
    attempts: list[LogicAttempt] = field(default_factory=list)


@dataclass(frozen=True)
class _Method:
    name: str
    header: str  # the signature lines of the base, as written there (class indentation)
    docstring: str | None
    shape: str  # ast dump of async-ness, arguments and return annotation


@dataclass(frozen=True)
class _Target:
    """What the generated base of one component leaves to write."""

    component: Component
    module: str  # "api": app/logic/api.py
    klass: str  # "Api": ApiLogic(ApiLogicBase)
    base_source: str
    class_line: int
    methods: dict[str, _Method]
    imports: tuple[str, ...]  # what the signatures need, at run time
    typing_imports: tuple[str, ...]  # ... and under TYPE_CHECKING

    @property
    def base_path(self) -> str:
        return f"app/logic_base/{self.module}.py"

    @property
    def logic_path(self) -> str:
        return f"app/logic/{self.module}.py"


@cache
def logic_prompts() -> PromptSet:
    """The system prompt (``prompts/logic/``), the ``write_methods`` tool and their hash."""
    folder = data_dir("prompts") / "logic"
    system = (folder / "system.md").read_text(encoding="utf-8")
    tools = (_write_methods_tool(),)
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.iterdir()) if p.is_file()}
    digest = _json_sha256({"files": files, "tools": [t.__dict__ for t in tools]})
    return PromptSet(system, tools, f"logic-{digest[:16]}")


def _json_sha256(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _write_methods_tool() -> ToolSpec:
    return ToolSpec(
        WRITE_METHODS,
        "Write the bodies of the methods asked for (only the statements inside each method) "
        "and the import lines they need.",
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["methods"],
            "properties": {
                "methods": {
                    "type": "object",
                    "minProperties": 1,
                    "additionalProperties": {"type": "string", "minLength": 1},
                    "description": "Method name -> its body (no `def` line, no decorator).",
                },
                "imports": {
                    "type": "array",
                    "items": {"type": "string", "minLength": 1},
                    "description": "Import statements the bodies need, one per item.",
                },
            },
        },
    )


def llm_components(ir: IR) -> list[Component]:
    """The components whose custom logic a model writes, in IR order."""
    return [c for c in ir.components if c.logic.mode == "custom" and c.logic.owner == "llm"]


def write_logic(
    ir: IR,
    service: Path,
    provider: Provider,
    *,
    python: Path,
    max_repairs: int = 2,
    prompt_version: str | None = None,
    components: Collection[str] | None = None,
) -> LogicOutcome:
    """Ask ``provider`` for the custom logic of every llm-owned component of ``ir`` and check
    it against the generated ``service`` (never modified: the tests run in a copy, with
    ``python``). A component whose base leaves nothing to write is skipped. LLM errors
    propagate as ``autocoder.llm.errors.LLMError``; what the model got wrong ends in
    ``failed``."""
    prompts = logic_prompts()
    version = prompt_version or prompts.version
    models = (service / "app" / "models.py").read_text(encoding="utf-8")
    outcome = LogicOutcome()
    passed: dict[str, str] = {}  # accepted modules take part in the later components' tests
    for component in llm_components(ir):
        if components is not None and component.name not in components:
            continue  # its module is written already (by a person, or shipped)
        target = _read_target(service, component)
        if target is None:
            continue
        messages = [Message("user", _request_text(ir, target, models))]
        for round_ in range(max_repairs + 1):
            request = CompletionRequest(
                system=prompts.system,
                messages=tuple(messages),
                tools=prompts.tools,
                tool_choice=WRITE_METHODS,
                max_tokens=MAX_TOKENS,
                prompt_version=version,
                purpose="logic" if round_ == 0 else "logic-repair",
            )
            completion = provider.complete(request)
            answer = _tool_input(completion)
            methods = _answered_methods(answer)
            source, findings, details = _check(target, answer, service, python, passed)
            outcome.attempts.append(
                LogicAttempt(component.name, round_, _prompt_sha256(request), methods, findings)
            )
            if not findings and source is not None:
                passed[target.logic_path] = source
                outcome.written[f"{target.module}.py"] = source
                break
            messages += [
                Message("assistant", _echo(target, source, completion, answer)),
                Message("user", _fix_request(target, findings, details)),
            ]
        else:
            outcome.failed[component.name] = findings
    return outcome


# --- the base and the request ------------------------------------------------------------


def _read_target(service: Path, component: Component) -> _Target | None:
    module, klass = snake(component.name), pascal(component.name)
    path = service / "app" / "logic_base" / f"{module}.py"
    if not path.is_file():
        return None
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    base = next(
        (n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == f"{klass}LogicBase"),
        None,
    )
    if base is None:
        return None
    lines = source.splitlines()
    nodes = [
        n
        for n in base.body
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and _raises_unimplemented(n)
    ]
    if not nodes:
        return None
    methods = {
        n.name: _Method(
            n.name,
            "\n".join(lines[n.lineno - 1 : n.body[0].lineno - 1]),
            ast.get_docstring(n, clean=False),
            _shape(n),
        )
        for n in nodes
    }
    runtime, typing_only = _signature_imports(tree, module, nodes)
    return _Target(component, module, klass, source, base.lineno, methods, runtime, typing_only)


def _raises_unimplemented(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for stmt in node.body:
        if isinstance(stmt, ast.Raise) and isinstance(stmt.exc, ast.Call):
            func = stmt.exc.func
            if isinstance(func, ast.Name) and func.id == "LogicNotImplementedError":
                return True
    return False


def _shape(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    returns = ast.dump(node.returns) if node.returns else ""
    return f"{type(node).__name__}|{ast.dump(node.args)}|{returns}"


def _signature_imports(
    tree: ast.Module, module: str, nodes: list[ast.FunctionDef | ast.AsyncFunctionDef]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The import lines that bring the names used in the signatures of ``nodes`` and the
    base's models into a module of app/logic/, split into run-time ones and those the base
    keeps under TYPE_CHECKING (ruff drops the unused ones later)."""
    annotations = [a.annotation for n in nodes for a in _arguments(n.args)] + [
        n.returns for n in nodes
    ]
    wanted = {
        name.id
        for annotation in annotations
        if annotation is not None
        for name in ast.walk(annotation)
        if isinstance(name, ast.Name)
    }
    wanted |= {  # the base's models too: its Outputs methods take them
        alias.asname or alias.name
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.level == 2 and node.module == "models"
        for alias in node.names
    }
    known: dict[str, tuple[str, bool]] = {}
    for stmt in tree.body:
        checking = isinstance(stmt, ast.If) and ast.unparse(stmt.test) == "TYPE_CHECKING"
        for node in stmt.body if isinstance(stmt, ast.If) and checking else [stmt]:
            if isinstance(node, ast.ImportFrom):
                origin = _logic_module(node.module, node.level)
                for alias in node.names:
                    alias_text = f" as {alias.asname}" if alias.asname else ""
                    line = f"from {origin} import {alias.name}{alias_text}"
                    known[alias.asname or alias.name] = (line, checking)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    alias_text = f" as {alias.asname}" if alias.asname else ""
                    line = f"import {alias.name}{alias_text}"
                    known[alias.asname or alias.name.split(".")[0]] = (line, checking)
            elif isinstance(node, ast.ClassDef):
                known[node.name] = (f"from ..logic_base.{module} import {node.name}", False)
    runtime: set[str] = set()
    typing_only: set[str] = set()
    for name in sorted(wanted - _BUILTIN_NAMES):
        if name in known:
            line, checking = known[name]
            (typing_only if checking else runtime).add(line)
    return tuple(sorted(runtime)), tuple(sorted(typing_only))


def _arguments(args: ast.arguments) -> list[ast.arg]:
    extra = [a for a in (args.vararg, args.kwarg) if a is not None]
    return [*args.posonlyargs, *args.args, *args.kwonlyargs, *extra]


def _logic_module(module: str | None, level: int) -> str:
    """A module as imported from app/logic/x.py when app/logic_base/x.py imports it so."""
    if level == 1:  # the logic_base package itself
        return "..logic_base" + (f".{module}" if module else "")
    return "." * level + (module or "")


def _request_text(ir: IR, target: _Target, models: str) -> str:
    c = target.component
    asked = "\n\n".join(
        m.header + (f'\n        """{m.docstring}"""' if m.docstring else "")
        for m in target.methods.values()
    )
    stores = [
        f"- `self.system.stores.{snake(s.name)}`: rows of `{s.config.get('entity')}`, "
        f"keyed by `{s.config.get('key', 'id')}`"
        for s in ir.components
        if s.kind == "store"
    ]
    parts = [
        f"Write the custom logic of component `{c.name}` (kind `{c.kind}`) of the system "
        f"`{ir.system.name}`.",
        f"What it must do:\n\n{c.logic.description.strip() or '(no description given)'}",
    ]
    if c.description.strip():
        parts.append(f"The component: {c.description.strip()}")
    parts += [
        f"Write the bodies of these methods of `{target.klass}LogicBase` (their signatures are "
        f"fixed), as `{target.klass}Logic` in {target.logic_path}:\n\n```python\n{asked}\n```",
        f"The generated base class, {target.base_path}:\n\n```python\n"
        f"{target.base_source.rstrip()}\n```",
        f"The service's data types, app/models.py:\n\n```python\n{models.rstrip()}\n```",
    ]
    if stores:
        parts.append("The stores of the service:\n" + "\n".join(stores))
    parts.append(
        f"Call `{WRITE_METHODS}` with the body of every method: "
        + ", ".join(f"`{name}`" for name in target.methods)
        + "."
    )
    return "\n\n".join(parts)


def _prompt_sha256(request: CompletionRequest) -> str:
    messages = [[m.role, m.content] for m in request.messages]
    return _json_sha256({"system": request.system, "messages": messages})


def _tool_input(completion: Completion) -> dict[str, Any] | None:
    for call in completion.tool_calls:
        if call.name == WRITE_METHODS and isinstance(call.input, dict):
            return call.input
    return None


def _answered_methods(answer: dict[str, Any] | None) -> dict[str, str]:
    methods = (answer or {}).get("methods")
    if not isinstance(methods, dict):
        return {}
    return {str(k): v for k, v in methods.items() if isinstance(v, str)}


def _echo(
    target: _Target, source: str | None, completion: Completion, answer: dict[str, Any] | None
) -> str:
    if source is not None:
        return f"I wrote {target.logic_path}:\n\n```python\n{source.rstrip()}\n```"
    if answer is not None:
        return f"I called `{WRITE_METHODS}` with:\n\n" + json.dumps(
            answer, indent=2, sort_keys=True
        )
    return completion.text or "(no answer)"


def _fix_request(target: _Target, findings: list[str], details: str) -> str:
    listed = "\n".join(f"- {f}" for f in findings)
    more = f"\n\nThe end of the test output:\n\n```\n{details}\n```" if details else ""
    names = ", ".join(f"`{name}`" for name in target.methods)
    return (
        f"The checks reported:\n\n{listed}{more}\n\nFix every finding and call "
        f"`{WRITE_METHODS}` again with the complete bodies of all the methods: {names}."
    )


# --- assembling and checking one answer ----------------------------------------------------


def _check(
    target: _Target,
    answer: dict[str, Any] | None,
    service: Path,
    python: Path,
    passed: dict[str, str],
) -> tuple[str | None, list[str], str]:
    """(module source, findings, test output excerpt) of one answer. The source is None when
    no module could be assembled; it is formatted once the static checks of the assembled
    text pass, and the findings' line numbers refer to the source returned."""
    source, findings = _assemble(target, answer)
    if source is None:
        return None, findings, ""
    try:
        ast.parse(source)
    except SyntaxError as exc:
        return source, [f"{target.logic_path}:{exc.lineno or 1}: syntax-error {exc.msg}"], ""
    except ValueError as exc:  # a NUL byte
        return source, [f"{target.logic_path}:1: syntax-error {exc}"], ""
    findings = _forbidden(target, source) + _structure(target, source)
    if findings:
        return source, findings, ""
    with tempfile.TemporaryDirectory(prefix="autocoder-logic-") as tmp:
        root, rel = Path(tmp), target.logic_path
        source = _ruff_fix_and_format(root, rel, source)
        findings = _ruff_findings(root, rel) + _bandit_findings(root, rel)
    if findings:
        return source, findings, ""
    findings, details = _run_tests(target, service, python, {**passed, rel: source})
    return source, findings, details


def _assemble(target: _Target, answer: dict[str, Any] | None) -> tuple[str | None, list[str]]:
    at = f"{target.logic_path}:1:"
    if answer is None:
        return None, [f"{at} bad-answer the answer called no `{WRITE_METHODS}` tool"]
    methods, imports = answer.get("methods"), answer.get("imports", [])
    findings = []
    if not isinstance(methods, dict) or not all(isinstance(v, str) for v in methods.values()):
        return None, [f"{at} bad-answer `methods` must map each method name to its body"]
    if not isinstance(imports, list) or not all(isinstance(i, str) for i in imports):
        findings.append(f"{at} bad-answer `imports` must be a list of import statements")
        imports = []
    for name in methods:
        if name not in target.methods:
            findings.append(
                f"{target.base_path}:{target.class_line}: unknown-method {target.klass}LogicBase "
                f"has no method {name!r} to write; write only " + ", ".join(target.methods)
            )
    bodies: dict[str, str] = {}
    for name in target.methods:
        body = _normalise(methods.get(name, ""))
        if not body.strip():
            findings.append(f"{at} missing-method no body for {name!r}")
        elif _is_own_def(body, name):
            findings.append(
                f"{at} bad-answer the answer for {name!r} is a whole `def`; send only its body"
            )
        bodies[name] = body
    lines = []
    for line in imports:
        line = line.strip()
        try:
            tree = ast.parse(line)
        except (SyntaxError, ValueError):
            tree = None
        if (
            tree is None
            or len(tree.body) != 1
            or not isinstance(tree.body[0], ast.Import | ast.ImportFrom)
        ):
            findings.append(f"{at} bad-import {line!r} is not one import statement")
        else:
            lines.append(line)
    if findings:
        return None, findings
    return _module_text(target, bodies, lines), []


def _normalise(body: str) -> str:
    """The body without fences and common indentation (also when only its first line was
    left unindented)."""
    text = body.expandtabs(4)
    fenced = re.fullmatch(r"\s*```[a-zA-Z]*\n(.*?)\n?```\s*", text, re.DOTALL)
    if fenced:
        text = fenced.group(1)
    text = "\n".join(line.rstrip() for line in text.strip("\n").splitlines())
    whole = textwrap.dedent(text)
    lines = text.splitlines()
    if len(lines) < 2 or _parses(whole):
        return whole
    alternative = lines[0].strip() + "\n" + textwrap.dedent("\n".join(lines[1:]))
    return alternative if _parses(alternative) else whole


def _parses(body: str) -> bool:
    try:
        ast.parse("async def _():\n" + textwrap.indent(body, "    ", lambda _: True))
    except (SyntaxError, ValueError):
        return False
    return True


def _is_own_def(body: str, name: str) -> bool:
    try:
        tree = ast.parse(body)
    except (SyntaxError, ValueError):
        return False
    return (
        len(tree.body) == 1
        and isinstance(tree.body[0], ast.FunctionDef | ast.AsyncFunctionDef)
        and tree.body[0].name == name
    )


def _module_text(target: _Target, bodies: dict[str, str], imports: list[str]) -> str:
    head = [
        f'"""Custom logic of `{target.component.name}`, written by an LLM from its blueprint.\n\n'
        'Autocoder checked it with ruff, bandit and the generated tests; review it like code.\n"""',
        "",
        "from __future__ import annotations",
        "",
        *target.imports,
        f"from ..logic_base.{target.module} import {target.klass}LogicBase",
        *imports,
    ]
    if target.typing_imports:
        head += ["from typing import TYPE_CHECKING", "", "if TYPE_CHECKING:"]
        head += [f"    {line}" for line in target.typing_imports]
    parts = ["\n".join(head), f"class {target.klass}Logic({target.klass}LogicBase):"]
    for name, method in target.methods.items():
        body = bodies[name]
        if method.docstring is not None and not _starts_with_docstring(body):
            body = f'"""{method.docstring}"""\n{body}'
        parts.append(method.header + "\n" + textwrap.indent(body, " " * 8, lambda _: True))
    return parts[0] + "\n\n\n" + parts[1] + "\n" + "\n\n".join(parts[2:]) + "\n"


def _starts_with_docstring(body: str) -> bool:
    try:
        tree = ast.parse(textwrap.dedent(body))
    except (SyntaxError, ValueError):
        return False
    first = tree.body[0] if tree.body else None
    return isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)


def _ruff_fix_and_format(root: Path, rel: str, source: str) -> str:
    """Imports sorted, unused ones dropped, upgrades applied and formatted, so that neither is
    ever a finding (ruff only reads the file)."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source, encoding="utf-8")
    _run([*ruff_command(), *RUFF_FIX, rel], root)
    _run([*ruff_command(), *RUFF_FORMAT, rel], root)
    return path.read_text(encoding="utf-8")


def _run(command: list[str], cwd: Path, **options: Any) -> subprocess.CompletedProcess[str]:
    """Run one of our tools (ruff, bandit, the service's pytest) on files we wrote."""
    return subprocess.run(  # noqa: S603 - fixed commands, no shell
        command, cwd=cwd, capture_output=True, text=True, check=False, **options
    )


class _Forbidden(ast.NodeVisitor):
    def __init__(self, target: _Target) -> None:
        self.target = target
        self.allowed = ALLOWED_MODULES | _base_modules(target.base_source)
        self.findings: list[str] = []

    def report(self, node: ast.AST, code: str, message: str) -> None:
        self.findings.append(
            f"{self.target.logic_path}:{getattr(node, 'lineno', 1)}: {code} {message}"
        )

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.check_module(node, alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:  # `from anyio import run_process` names what it takes
            if alias.name in FORBIDDEN_CALLS | FORBIDDEN_ATTRIBUTES:
                self.report(node, "forbidden-import", f"`{alias.name}` is not allowed")
        if node.level == 0:
            self.check_module(node, node.module or "")
        elif node.level != 2 or (node.module or "").split(".")[0] not in SERVICE_PACKAGES:
            what = f"`from {'.' * node.level}{node.module or ''}`"
            why = "of the service import only from `..models`, `..logic_base` and `..runtime`"
            self.report(node, "import-not-allowed", f"{what}: {why}")

    def check_module(self, node: ast.AST, name: str) -> None:
        root = name.split(".")[0]
        if root in FORBIDDEN_MODULES and root not in self.allowed:
            why = "no network, processes, files or interpreter access in custom logic"
            self.report(node, "forbidden-import", f"`{name}`: {why}")
        elif root not in self.allowed:
            why = "is not allowed (pure standard library modules and the service's own only)"
            self.report(node, "import-not-allowed", f"`{name}` {why}")

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in FORBIDDEN_CALLS or node.id in FORBIDDEN_ATTRIBUTES:
            self.report(node, "forbidden-name", f"`{node.id}` is not allowed in custom logic")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        value = node.value
        if node.attr in FORBIDDEN_ATTRIBUTES:
            self.report(node, "forbidden-attribute", f"`.{node.attr}` is not allowed")
        elif isinstance(value, ast.Name) and value.id in FORBIDDEN_MODULES:
            what = f"`{value.id}.{node.attr}`: `{value.id}`"
            self.report(node, "forbidden-name", f"{what} is not allowed in custom logic")
        elif node.attr == "http" and isinstance(value, ast.Attribute) and value.attr == "system":
            self.report(node, "forbidden-attribute", "`system.http`: no network in custom logic")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if (
            isinstance(func, ast.Name)
            and func.id in ("getattr", "setattr", "delattr", "hasattr")
            and len(node.args) > 1
            and isinstance(node.args[1], ast.Constant)
            and str(node.args[1].value).startswith("__")
        ):
            self.report(node, "forbidden-attribute", f"`{func.id}` of a dunder attribute")
        self.generic_visit(node)


def _base_modules(base_source: str) -> frozenset[str]:
    """The top-level modules the generated base imports (``anyio`` for a source)."""
    names = set()
    for node in ast.walk(ast.parse(base_source)):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return frozenset(names)


def _forbidden(target: _Target, source: str) -> list[str]:
    visitor = _Forbidden(target)
    visitor.visit(ast.parse(source))
    return visitor.findings


def _structure(target: _Target, source: str) -> list[str]:
    """The module is the one assembled: imports and one class overriding exactly the asked
    methods with the base's signatures (a body cannot reach past its method)."""
    tree = ast.parse(source)
    at = f"{target.logic_path}:"
    findings = []
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    for node in tree.body:
        if not (
            isinstance(node, ast.Import | ast.ImportFrom | ast.ClassDef)
            or (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
            or (
                isinstance(node, ast.If)
                and ast.unparse(node.test) == "TYPE_CHECKING"
                and not node.orelse
                and all(isinstance(n, ast.Import | ast.ImportFrom) for n in node.body)
            )
        ):
            findings.append(f"{at}{node.lineno}: structure unexpected module-level code")
    if len(classes) != 1 or classes[0].name != f"{target.klass}Logic":
        return [*findings, f"{at}1: structure the module must hold only {target.klass}Logic"]
    seen: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
    for stmt in classes[0].body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            seen[stmt.name] = stmt
        elif not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)):
            findings.append(f"{at}{stmt.lineno}: structure unexpected class-level code")
    for name, method in target.methods.items():
        found = seen.pop(name, None)
        if found is None:
            findings.append(f"{at}{classes[0].lineno}: structure method {name!r} is missing")
        elif found.decorator_list or _shape(found) != method.shape:
            findings.append(
                f"{at}{found.lineno}: signature-changed {name!r} must keep the base's signature"
            )
    for name, node in seen.items():
        findings.append(f"{at}{node.lineno}: structure unexpected method {name!r}")
    return findings


def _ruff_findings(root: Path, rel: str) -> list[str]:
    check = _run([*ruff_command(), *RUFF_CHECK, rel], root)
    try:
        results = json.loads(check.stdout or "[]")
    except json.JSONDecodeError:
        results = None
    if results is None or check.returncode not in (0, 1):
        return [f"{rel}:1: ruff {(check.stderr or check.stdout).strip()[:500]}"]
    findings = [
        f"{rel}:{r['location']['row']}: {r['code']} {r['message']}"
        for r in sorted(results, key=lambda r: (r["location"]["row"], r["code"] or ""))
    ]
    if _run([*ruff_command(), *RUFF_FORMAT, "--check", rel], root).returncode != 0:
        findings.append(f"{rel}:1: format the module is not formatted as ruff formats it")
    return findings


def _bandit_findings(root: Path, rel: str) -> list[str]:
    done = _run([sys.executable, *BANDIT, rel], root)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        return [f"{rel}:1: bandit {(done.stderr or done.stdout).strip()[:500]}"]
    findings = [f"{rel}:1: bandit {e.get('reason', e)}" for e in report.get("errors", [])]
    for item in sorted(report.get("results", []), key=lambda r: (r["line_number"], r["test_id"])):
        findings.append(
            f"{rel}:{item['line_number']}: {item['test_id']} {item['issue_text']} "
            f"(severity {item['issue_severity'].lower()})"
        )
    return findings


# --- the generated tests, in a copy of the service ------------------------------------------

_SUMMARY = re.compile(r"^(FAILED|ERROR) (\S+?)(?: - (.*))?$")
_LOCATION = re.compile(r'^(\S+\.py):(\d+): |^\s*File "([^"]+\.py)", line (\d+)')
_HEADER = re.compile(r"^[-=_]{3,} (.*?) [-=_]{3,}$")
_DROPPED = re.compile(r"^(Captured (stdout|stderr) |warnings summary)")
_FRAMEWORK_FRAME = re.compile(r'^\s*File "<venv>')
_SKIPPED = re.compile(r"^SKIPPED \[\d+\] (\S+?):(\d+): (.*)$")


def _run_tests(
    target: _Target, service: Path, python: Path, modules: dict[str, str]
) -> tuple[list[str], str]:
    """Findings of the generated suite run in a copy of ``service`` holding ``modules`` (only
    failures count) and the scrubbed failure report: the only place model code runs."""
    with tempfile.TemporaryDirectory(prefix="autocoder-logic-") as tmp:
        copy = Path(tmp) / "service"
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".*_cache", ".venv")
        shutil.copytree(service, copy, ignore=ignore)
        for rel, text in modules.items():
            (copy / rel).write_text(text, encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not _SECRET_ENV.search(k)}
        env["PYTHONHASHSEED"] = "0"
        env.update(PYTHONDONTWRITEBYTECODE="1", COLUMNS="120")  # the same report everywhere
        try:
            done = _run([str(python), *PYTEST], copy, env=env, timeout=TEST_TIMEOUT)
        except subprocess.TimeoutExpired:
            return [
                f"{target.logic_path}:1: test-timeout the generated tests did not finish "
                f"within {TEST_TIMEOUT}s (an endless loop?)"
            ], ""
        lines = _scrub(done.stdout + done.stderr, copy, python).splitlines()
    findings = _test_failures(target, lines) if done.returncode not in (0, 5) else []
    for line in lines:
        match = _SKIPPED.match(line)
        if match and target.logic_path in match.group(3):
            findings.append(f"{match.group(1)}:{match.group(2)}: test-not-run {match.group(3)}")
    return findings, _excerpt(lines) if findings else ""


def _test_failures(target: _Target, lines: list[str]) -> list[str]:
    """One finding per failed test, at the last line of the logic module in the tracebacks
    (else of the test), from pytest's short summary."""
    locations = [
        (m.group(1) or m.group(3), m.group(2) or m.group(4))
        for line in lines
        if (m := _LOCATION.match(line))
    ]
    summary = next((i for i, line in enumerate(lines) if "short test summary" in line), 0)
    findings = []
    for match in filter(None, map(_SUMMARY.match, lines[summary:])):
        kind, node, message = match.groups()
        test_file = node.split("::")[0]
        where = next(
            (f"{f}:{n}" for f, n in reversed(locations) if f == target.logic_path),
            next((f"{f}:{n}" for f, n in reversed(locations) if f == test_file), f"{test_file}:1"),
        )
        what = "test-failed" if kind == "FAILED" else "test-error"
        findings.append(f"{where}: {what} {node}" + (f": {message}" if message else ""))
    return findings or [f"{target.logic_path}:1: test-failed the generated tests did not pass"]


def _scrub(text: str, copy: Path, python: Path) -> str:
    """Test output without what differs between runs (paths, timings, addresses, ids), so the
    repair request is the same on every machine and replays from a lockfile."""
    text = text.replace(str(copy) + os.sep, "").replace(str(copy), ".")
    text = text.replace(os.path.abspath(python.parent.parent), "<venv>")
    text = text.replace(sys.base_prefix, "<python>")
    for pattern, replacement in (
        (r"\S*pytest-of-[^/\s]+/pytest-\d+", "<tmp>"),
        (r"0x[0-9a-fA-F]{6,}", "0x?"),
        (r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?", "<time>"),
        (r"\b[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\b", "<uuid>"),
        (r"@reproduce_failure\(.*\)", "@reproduce_failure(...)"),
        (r" in \d+(\.\d+)?s( \([0-9:]+\))?( =+)?$", r"\3"),
    ):
        text = re.sub(pattern, replacement, text, flags=re.MULTILINE)
    return text


def _excerpt(lines: list[str], limit: int = 8000) -> str:
    """The failure reports, without captured output and warnings (the captured log holds the
    traceback) and without the frames of the service's dependencies."""
    start = next((i for i, line in enumerate(lines) if _HEADER.match(line)), 0)
    kept: list[str] = []
    dropping = framework = False
    for line in lines[start:]:
        header = _HEADER.match(line)
        if header:
            dropping = bool(_DROPPED.match(header.group(1)))
        if line.startswith("-- Docs: "):
            continue
        framework = bool(_FRAMEWORK_FRAME.match(line)) or (framework and line.startswith("    "))
        if not dropping and not framework:
            kept.append(line)
    text = "\n".join(kept).strip()
    return text if len(text) <= limit else "...\n" + text[-limit:]

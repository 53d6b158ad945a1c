"""The compiler driver: SOURCE -> load -> schema -> lower -> passes -> suppressions -> IR.

This is the one pipeline every command uses (compile, graph, and later generate/validate/diff).
It returns a ``CompileResult``; it never writes files and never raises for bad input.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from jsonschema.exceptions import ValidationError
from ruamel.yaml import YAML

from autocoder.diagnostics import DiagnosticSink, Severity, Span, Suppression, codes
from autocoder.frontend.loader import LoadedDocument, load_yaml_file, load_yaml_text
from autocoder.frontend.lower import ARCHITECTURE, DEPLOYMENT, default_deployment, lower
from autocoder.frontend.openapi.document import Contract, read_contract
from autocoder.frontend.openapi.importer import import_contract
from autocoder.frontend.schema_check import check_against_schema
from autocoder.ir.models import IR
from autocoder.ir.serialize import IR_FILENAME, dump_ir, seal
from autocoder.passes import PassContext, run_passes


@dataclass
class CompileResult:
    sink: DiagnosticSink
    ir: IR | None = None
    architecture_text: str = ""
    deployment_text: str = ""
    deployment_generated: bool = False
    files: dict[str, str] = field(default_factory=dict)
    contract_files: dict[str, bytes] = field(default_factory=dict)  # written beside the blueprints

    @property
    def ok(self) -> bool:
        return self.ir is not None and not self.sink.has_errors

    def ir_text(self) -> str:
        if self.ir is None:
            raise RuntimeError("no IR: the compilation failed")
        return dump_ir(self.ir)


def display_path(path: Path) -> str:
    """The path as shown in diagnostics: relative to the working directory when below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def resolve_source(source: Path) -> tuple[Path, Path | None] | None:
    """SOURCE (a directory or an architecture.yaml) -> (architecture, deployment or None)."""
    if source.is_dir():
        arch = source / ARCHITECTURE
        if not arch.is_file():
            return None
    elif source.is_file():
        arch = source
    else:
        return None
    dep = arch.parent / DEPLOYMENT
    return arch, (dep if dep.is_file() else None)


def today() -> dt.date:
    """Today's date for suppression expiry (AUTOCODER_TODAY=YYYY-MM-DD pins it, for tests)."""
    pinned = os.environ.get("AUTOCODER_TODAY")
    if pinned:
        return dt.date.fromisoformat(pinned)
    return dt.date.today()


def _load(path: Path, schema: str, sink: DiagnosticSink) -> LoadedDocument | None:
    return _checked(load_yaml_file(path, display_path(path), sink), schema, sink)


def _checked(
    doc: LoadedDocument | None, schema: str, sink: DiagnosticSink
) -> LoadedDocument | None:
    if doc is None:
        return None
    skip = _inherited_requirements(doc.data) if schema.startswith("deployment") else None
    return doc if check_against_schema(doc.data, schema, doc.file, sink, skip=skip) else None


def _inherited_requirements(data: Any) -> Callable[[ValidationError], bool]:
    """An environment with ``extends`` may leave required keys to its parent: those are
    checked on the merged environment during lowering instead."""
    envs = data.get("environments") if isinstance(data, dict) else None
    extending = (
        {n for n, e in envs.items() if isinstance(e, dict) and "extends" in e}
        if isinstance(envs, dict)
        else set()
    )

    def skip(error: ValidationError) -> bool:
        path = list(error.absolute_path)
        return (
            error.validator == "required"
            and len(path) > 2
            and path[0] == "environments"
            and path[1] in extending
        )

    return skip


def dump_yaml(data: dict[str, Any], header: str) -> str:
    import io

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]  # keep key order
    yaml.width = 100_000  # never fold: a folded long key (`GET /a/very/long/path`) is not YAML
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    return header + buffer.getvalue()


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Compilation allocates many small acyclic objects; cyclic GC passes only cost time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# How unaccepted assumptions (`assumptions:` of architecture.yaml) are reported: a warning, an
# error (a CI compile), or not at all (the person accepted them on the command line).
Assumptions = Literal["warn", "error", "accept"]


def compile_source(source: Path, *, assumptions: Assumptions = "warn") -> CompileResult:
    """Compile the blueprints at ``source``; diagnostics are in the result, never raised."""
    with _collector_paused():
        return _compile(source, assumptions)


def looks_like_contract(path: Path) -> bool:
    """Whether ``path`` is an OpenAPI or Swagger document rather than blueprints or an IR file:
    a YAML file with a top-level ``openapi:``/``swagger:`` key near its start, or a JSON
    object with such a member."""
    if not path.is_file() or path.name in (ARCHITECTURE, IR_FILENAME):
        return False
    try:
        with path.open("rb") as fh:
            head = fh.read(8192).decode("utf-8", errors="replace")
    except OSError:
        return False
    if head.lstrip("\ufeff \t\r\n").startswith("{"):
        if not _JSON_CONTRACT_KEY.search(head) and len(head) < 8192:
            return False
        try:
            data = json.loads(path.read_bytes())
        except (OSError, ValueError):
            return _JSON_CONTRACT_KEY.search(head) is not None  # let the loader report it
        return isinstance(data, dict) and ("openapi" in data or "swagger" in data)
    return _CONTRACT_KEY.search(head) is not None


_CONTRACT_KEY = re.compile(r"""(?m)^\s*["']?(openapi|swagger)["']?\s*:""")
_JSON_CONTRACT_KEY = re.compile(r'"(openapi|swagger)"\s*:')


def _looks_like_blueprints(path: Path) -> bool:
    """A YAML mapping with a blueprint's top-level keys (unreadable files: let the loader say)."""
    scratch = DiagnosticSink()
    doc = load_yaml_file(path, display_path(path), scratch)
    if doc is None:
        return True
    return bool({"schema_version", "system", "components"} & set(doc.data))


def _compile(source: Path, assumptions: Assumptions = "warn") -> CompileResult:
    if looks_like_contract(source):
        return _compile_contract(source)
    sink = DiagnosticSink()
    result = CompileResult(sink)
    resolved = resolve_source(source)
    if resolved is None:
        sink.report(
            codes.SOURCE_NOT_FOUND,
            f"{source}: no such file, or a directory without {ARCHITECTURE}",
            span=Span(display_path(source)),
            hint="pass a directory holding architecture.yaml, or the file itself; "
            "`autocoder init DIR` writes a starter pair",
        )
        return result
    arch_path, dep_path = resolved
    if arch_path.name != ARCHITECTURE and not _looks_like_blueprints(arch_path):
        sink.report(
            codes.NOT_OPENAPI,
            f"{display_path(arch_path)} is neither blueprints (no `system` or `components`) "
            "nor an OpenAPI document (no `openapi`)",
            span=Span(display_path(arch_path)),
            hint="pass a blueprint directory, an architecture.yaml, or an OpenAPI 3.0/3.1 document",
        )
        return result
    arch = _load(arch_path, "architecture.schema.json", sink)
    dep = _load(dep_path, "deployment.schema.json", sink) if dep_path else None
    if arch is None or (dep_path is not None and dep is None):
        return result
    return _compile_documents(result, arch, dep, arch_path.parent, assumptions)


def _report_assumptions(arch: LoadedDocument, sink: DiagnosticSink, *, error: bool) -> None:
    for index, item in enumerate(arch.data.get("assumptions") or []):
        if item.get("accepted"):
            continue
        sink.report(
            codes.ASSUMPTION_UNACCEPTED,
            f"assumed when these blueprints were written: {item.get('text')}",
            file=arch.file,
            pointer=f"/assumptions/{index}",
            severity=Severity.ERROR if error else None,
            hint="review it, then set `accepted: true`, or pass --accept-assumptions",
        )


def compile_texts(
    architecture: str,
    deployment: str | None,
    *,
    assumptions: Assumptions = "warn",
    base: Path | None = None,
) -> CompileResult:
    """Compile blueprints given as text (what the natural-language front end gets from a
    model); diagnostics name them architecture.yaml and deployment.yaml. ``base`` is the
    directory contracts are read from; without it the blueprints may name none."""
    with _collector_paused():
        sink = DiagnosticSink()
        result = CompileResult(sink)
        arch = _checked(
            load_yaml_text(architecture, ARCHITECTURE, sink), "architecture.schema.json", sink
        )
        dep = None
        if deployment is not None:
            loaded = load_yaml_text(deployment, DEPLOYMENT, sink)
            dep = _checked(loaded, "deployment.schema.json", sink)
        if arch is None or (deployment is not None and dep is None):
            return result
        return _compile_documents(result, arch, dep, base, assumptions)


def _compile_documents(
    result: CompileResult,
    arch: LoadedDocument,
    dep: LoadedDocument | None,
    base: Path | None,
    assumptions: Assumptions,
) -> CompileResult:
    """Blueprints loaded and schema-checked: contracts (relative to ``base``), the default
    deployment when there is none, then lowering and the passes."""
    sink = result.sink
    if assumptions != "accept":
        _report_assumptions(arch, sink, error=assumptions == "error")
    contracts = _load_contracts(arch, base, sink)
    if contracts is None:
        return result
    result.files = {ARCHITECTURE: arch.file}
    result.architecture_text = arch.text
    if dep is not None:
        deployment, result.deployment_text = dep.data, dep.text
        result.files[DEPLOYMENT] = dep.file
    else:
        deployment = default_deployment(arch.data)
        result.deployment_generated = True
        result.deployment_text = dump_yaml(
            deployment,
            "# Written by autocoder compile from defaults (no deployment.yaml was given).\n"
            "# Editor validation: `autocoder schema deployment --path` prints the schema to use.\n",
        )
        result.files[DEPLOYMENT] = str(Path(arch.file).parent / DEPLOYMENT)
        sink.report(
            codes.DEFAULT_DEPLOYMENT,
            "no deployment.yaml beside the architecture; using one `dev` environment with "
            "embedded SQLite",
            span=Span(arch.file),
            hint="the compiled output holds the deployment.yaml used; copy it next to the "
            "architecture to change it",
        )
    return _finish(result, arch, deployment, contracts)


def _finish(
    result: CompileResult,
    arch: LoadedDocument,
    deployment: dict[str, Any],
    contracts: dict[str, Contract],
) -> CompileResult:
    """Lower, run the passes, apply suppressions and seal the IR."""
    sink = result.sink
    result.contract_files = {name: c.raw for name, c in contracts.items()}
    result.files.update({name: c.file for name, c in contracts.items()})
    ir = lower(
        arch.data,
        deployment,
        deployment_generated=result.deployment_generated,
        sink=sink,
        deployment_file=result.files[DEPLOYMENT],
        contracts=contracts,
        architecture_file=arch.file,
    )
    ctx = PassContext(ir=ir, sink=sink, files=result.files, deployment_raw=deployment)
    run_passes(ctx)
    suppressions = [
        Suppression(
            code=s.code,
            reason=s.reason,
            pointer=s.origin.partition("#")[2],
            expires=dt.date.fromisoformat(s.expires) if s.expires else None,
            target=s.target,
            owner=s.owner,
        )
        for s in ir.policy.suppressions
    ]
    from autocoder.diff.rules import RULES

    sink.apply_suppressions(suppressions, file=arch.file, today=today(), elsewhere=RULES)
    result.ir = seal(ir)
    return result


def _load_contracts(
    arch: LoadedDocument, base: Path | None, sink: DiagnosticSink
) -> dict[str, Contract] | None:
    """The OpenAPI documents the api components name (``config.contract``), checked; None when
    one is missing or invalid (reported). A contract lives beside architecture.yaml or below
    it; blueprints with no directory (``base`` None: written by a model) name none."""
    contracts: dict[str, Contract] = {}
    ok = True
    for name, raw in sorted(arch.data.get("components", {}).items()):
        config = raw.get("config") if isinstance(raw, dict) else None
        if raw.get("kind") != "api" or not isinstance(config, dict) or "contract" not in config:
            continue
        relative = str(config["contract"])
        if relative in contracts:
            continue
        path = base / relative if base is not None else None
        if path is None or Path(relative).is_absolute() or ".." in Path(relative).parts:
            sink.report(
                codes.CONTRACT_NOT_FOUND,
                f"contract {relative!r} cannot be read: "
                + (
                    "blueprints written from a request name no contract file"
                    if base is None
                    else "a contract lives beside architecture.yaml or below it"
                ),
                file=arch.file,
                pointer=f"/components/{name}/config/contract",
                hint="`contract` is a path relative to architecture.yaml, without `..`",
            )
            ok = False
            continue
        if not path.is_file():
            sink.report(
                codes.CONTRACT_NOT_FOUND,
                f"contract {relative!r} does not exist beside {ARCHITECTURE}",
                file=arch.file,
                pointer=f"/components/{name}/config/contract",
                hint="`contract` is a path relative to architecture.yaml",
            )
            ok = False
            continue
        contract = read_contract(path, display_path(path), relative, sink)
        if contract is None:
            ok = False
        else:
            contracts[relative] = contract
    return contracts if ok else None


def _compile_contract(source: Path) -> CompileResult:
    """An OpenAPI document as SOURCE: import it into blueprints, then compile those."""
    sink = DiagnosticSink()
    result = CompileResult(sink)
    name = "openapi.json" if source.suffix.lower() == ".json" else "openapi.yaml"
    contract = read_contract(source, display_path(source), name, sink)
    if contract is None:
        return result
    architecture, deployment = import_contract(contract)
    spec = display_path(source)
    result.architecture_text = dump_yaml(
        architecture,
        f"# Imported from {spec} by autocoder compile. The contract is {name}, served as "
        "written;\n# this file says how each of its operations is implemented.\n"
        "# yaml-language-server: $schema=https://schemas.autocoder.dev/v1/architecture.schema.json\n",
    )
    result.deployment_text = dump_yaml(
        deployment,
        f"# How {architecture['system']['name']} runs in each environment (imported from "
        f"{spec}).\n",
    )
    arch = load_yaml_text(result.architecture_text, ARCHITECTURE, sink)
    dep = load_yaml_text(result.deployment_text, DEPLOYMENT, sink)
    if arch is None or dep is None:
        return result
    arch_ok = check_against_schema(arch.data, "architecture.schema.json", arch.file, sink)
    dep_ok = check_against_schema(dep.data, "deployment.schema.json", dep.file, sink)
    if not (arch_ok and dep_ok):
        return result
    result.files = {ARCHITECTURE: arch.file, DEPLOYMENT: dep.file}
    return _finish(result, arch, dep.data, {name: contract})

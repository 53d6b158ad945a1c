"""Policy packs: rules as data (YAML), each a CEL expression that holds on a compliant document.

A pack checks either Kubernetes manifests or parsed Dockerfiles. Every expression is compiled
once when the pack is built; a rule that cannot be evaluated on a document is reported as broken
by that document (fail closed), never passed. Pack format, variables and helper functions are
described in policies/README.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

import celpy
from celpy import celtypes
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from autocoder.policy.dockerfile import EMPTY_STAGE
from autocoder.resources import data_dir

WORKLOAD_KINDS = frozenset(
    {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}
)
_CONTAINER_FIELDS = ("containers", "initContainers", "ephemeralContainers")


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class PackTarget(StrEnum):
    """What the documents given to ``Pack.check`` are."""

    KUBERNETES = "kubernetes"  # manifests: one mapping per object
    DOCKERFILE = "dockerfile"  # the output of ``parse_dockerfile``


class PolicyPackError(Exception):
    """A policy pack is malformed; the message names the file and the rule."""


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    description: str
    hint: str
    kinds: tuple[str, ...]  # Kubernetes kinds the rule applies to ("*": every kind)
    expression: str  # CEL, true when the document complies
    message: str = ""  # shown when the rule is broken (default: the description)
    message_expression: str = ""  # CEL giving that text instead
    line_expression: str = ""  # Dockerfile rules: CEL giving the line of the offending instruction

    def applies_to(self, kind: object) -> bool:
        return "*" in self.kinds or kind in self.kinds


@dataclass(frozen=True)
class Violation:
    rule: Rule
    file: str
    subject: str  # "Deployment/todo-api", "Dockerfile:12"
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.subject}: {self.message} [{self.rule.id}]"


# Reported for a document the pack cannot read at all (not a mapping, no kind).
INVALID_DOCUMENT = Rule(
    id="invalid-document",
    severity=Severity.ERROR,
    description="The document is not a Kubernetes object (a mapping with a kind).",
    hint="Remove the document or give it apiVersion, kind and metadata.name.",
    kinds=("*",),
    expression="false",
)


# --- CEL helper functions (arguments and results are CEL values) ---------------------------


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__.removesuffix("Type").lower()


def _field(value: Any, key: Any) -> Any:
    """``value[key]``, None when absent (``MapType.get`` raises instead of defaulting)."""
    return dict.get(value, key) if isinstance(value, dict) else None


def _equal(a: Any, b: Any) -> bool:
    """CEL values of different types compare unequal here (celpy raises for int == string)."""
    try:
        return bool(a == b)
    except TypeError:
        return False


def _lookup(value: Any, path: Any, *, strict: bool = False) -> Any:
    """Follow ``path`` ("a.b.0.c" or a list of keys) into maps and lists; None when missing.

    ``strict``: a value of the wrong shape on the way (a string where a map is expected) is an
    error rather than a missing field, so a rule reading a malformed document fails closed.
    """
    if isinstance(path, str):
        keys: list[Any] = path.split(".") if path else []
    elif isinstance(path, list):
        keys = list(path)
    else:
        raise TypeError(f"a path is a string or a list of keys, not {_type_name(path)}")
    for key in keys:
        if isinstance(value, dict):
            value = _field(value, key)
        elif isinstance(value, list) and (isinstance(key, int) or str(key).isdigit()):
            index = int(key)
            value = value[index] if 0 <= index < len(value) else None
        elif strict:
            raise TypeError(f"path {path!r}: {_type_name(value)} value has no field {str(key)!r}")
        else:
            return None
        if value is None:
            return None
    return value


def _get(value: Any, path: Any, default: Any) -> Any:
    found = _lookup(value, path, strict=True)
    return default if found is None else found


def _present(value: Any, path: Any) -> Any:
    return celtypes.BoolType(_lookup(value, path, strict=True) is not None)


def _pod_template(obj: Any) -> Any:
    kind = _field(obj, "kind")
    if kind == "Pod":
        return obj
    if kind == "CronJob":
        return _lookup(obj, "spec.jobTemplate.spec.template")
    if kind in WORKLOAD_KINDS:
        return _lookup(obj, "spec.template")
    return None


def _pod_spec(obj: Any) -> Any:
    spec = _lookup(_pod_template(obj), "spec")
    return spec if isinstance(spec, Mapping) else celtypes.MapType()


def _pod_labels(obj: Any) -> Any:
    labels = _lookup(_pod_template(obj), "metadata.labels")
    return labels if isinstance(labels, Mapping) else celtypes.MapType()


def _containers(pod: Any) -> Any:
    found = celtypes.ListType()
    for field in _CONTAINER_FIELDS:
        value = _lookup(pod, field)
        if value is None:
            continue
        # A malformed value stays in the list, so rules reading it fail instead of passing.
        found.extend(value if isinstance(value, list) else [value])
    return found


def _is_workload(obj: Any) -> Any:
    return celtypes.BoolType(_field(obj, "kind") in WORKLOAD_KINDS)


def _selects(selector: Any, labels: Any) -> Any:
    """A LabelSelector (matchLabels/matchExpressions) or a plain map selects ``labels``."""
    if not isinstance(selector, dict):
        return celtypes.BoolType(False)  # a null selector selects nothing
    labels = labels if isinstance(labels, dict) else {}
    if selector and set(selector) <= {"matchLabels", "matchExpressions"}:
        match_labels = _field(selector, "matchLabels") or {}
        expressions = _field(selector, "matchExpressions") or []
    else:
        match_labels, expressions = selector, []
    if not isinstance(match_labels, dict) or not isinstance(expressions, list):
        return celpy.CELEvalError("selects: matchLabels must be a map, matchExpressions a list")
    if not all(_equal(_field(labels, key), value) for key, value in match_labels.items()):
        return celtypes.BoolType(False)
    for expression in expressions:
        key = _lookup(expression, "key")
        operator = _lookup(expression, "operator")
        values = _lookup(expression, "values") or []
        listed = key in labels and any(_equal(labels[key], value) for value in values)
        if operator == "In":
            ok = listed
        elif operator == "NotIn":
            ok = not listed
        elif operator == "Exists":
            ok = key in labels
        elif operator == "DoesNotExist":
            ok = key not in labels
        else:
            return celpy.CELEvalError(f"selects: unknown matchExpressions operator '{operator}'")
        if not ok:
            return celtypes.BoolType(False)
    return celtypes.BoolType(True)


def _same_namespace(a: Any, b: Any) -> Any:
    return celtypes.BoolType(
        (_lookup(a, "metadata.namespace") or "") == (_lookup(b, "metadata.namespace") or "")
    )


def _exposes(obj: Any, port: Any) -> Any:
    """A container of workload ``obj`` declares ``port`` (a port name, or a number)."""
    by_name = isinstance(port, str)
    for container in _containers(_pod_spec(obj)):
        for declared in _lookup(container, "ports") or []:
            field = "name" if by_name else "containerPort"
            if _equal(_lookup(declared, field), port):
                return celtypes.BoolType(True)
    return celtypes.BoolType(False)


def _image(ref: Any) -> Any:
    """Split an image reference into name, tag and digest ("" when absent)."""
    text = ref if isinstance(ref, str) else ""
    name, _, digest = text.partition("@")
    tag = ""
    colon = name.rfind(":")
    if colon > name.rfind("/"):
        name, tag = name[:colon], name[colon + 1 :]
    return celtypes.MapType(
        {
            celtypes.StringType("name"): celtypes.StringType(name),
            celtypes.StringType("tag"): celtypes.StringType(tag),
            celtypes.StringType("digest"): celtypes.StringType(digest),
        }
    )


def _env_literals(obj: Any) -> Any:
    """Literal name/value pairs: a ConfigMap's data, or the ``env[].value`` of a workload."""
    pairs: list[tuple[Any, Any]] = []
    if _field(obj, "kind") == "ConfigMap":
        data = _field(obj, "data")
        pairs = list(data.items()) if isinstance(data, dict) else []
    elif _is_workload(obj):
        for container in _containers(_pod_spec(obj)):
            for entry in _lookup(container, "env") or []:
                if _field(entry, "value") is not None:
                    pairs.append((_field(entry, "name"), _field(entry, "value")))
    return celtypes.ListType(
        celtypes.MapType(
            {
                celtypes.StringType("name"): celtypes.StringType(name or ""),
                celtypes.StringType("value"): celtypes.StringType(value),
            }
        )
        for name, value in pairs
    )


def _join(items: Any, separator: Any) -> Any:
    if not isinstance(items, list):
        raise TypeError(f"join needs a list, not {items!r}")
    return celtypes.StringType(str(separator).join(str(item) for item in items))


def _lower(text: Any) -> Any:
    return celtypes.StringType(str(text).lower())


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "get": _get,
    "present": _present,
    "selects": _selects,
    "same_namespace": _same_namespace,
    "is_workload": _is_workload,
    "pod_spec": _pod_spec,
    "pod_labels": _pod_labels,
    "containers_of": lambda obj: _containers(_pod_spec(obj)),
    "exposes": _exposes,
    "image": _image,
    "env_literals": _env_literals,
    "join": _join,
    "lower": _lower,
}


# --- compiling and evaluating ----------------------------------------------------------------


class _Evaluator(celpy.evaluation.Evaluator):  # type: ignore[misc]
    """celpy's evaluator, except that ``&&``, ``||``, ``all()`` and ``exists()`` stop as soon as
    the result is decided.

    CEL defines these operators as commutative over errors (``error || true`` is true), so the
    result is the same; cross-object rules just run several times faster.
    """

    _literals: dict[tuple[str, str], Any] = {}  # literals are immutable: decode each once

    def sub_evaluator(self, ast: Any) -> Any:
        return _Evaluator(ast, activation=self.activation)

    def literal(self, tree: Any) -> Any:
        token = tree.children[0] if len(tree.children) == 1 else None
        key = (str(token.type), str(token)) if token is not None else None
        if key is not None and key in self._literals:
            return self._literals[key]
        value = super().literal(tree)
        if key is not None and not isinstance(value, celpy.CELEvalError):
            self._literals[key] = value
        return value

    def conditionalor(self, tree: Any) -> Any:
        if len(tree.children) != 2:
            return super().conditionalor(tree)
        return self._logical(tree, "_||_", decided_by=True)

    def conditionaland(self, tree: Any) -> Any:
        if len(tree.children) != 2:
            return super().conditionaland(tree)
        return self._logical(tree, "_&&_", decided_by=False)

    def member_dot_arg(self, tree: Any) -> Any:
        method = str(tree.children[1])
        if method not in ("all", "exists") or len(tree.children) != 3:
            return super().member_dot_arg(tree)
        items = self.visit(tree.children[0])
        if isinstance(items, celpy.CELEvalError):
            return items
        if not isinstance(items, list | dict):
            return celpy.CELEvalError(f"{method}() needs a list or a map, not {_type_name(items)}")
        decided_by = method == "exists"  # exists() stops at the first true, all() at a false
        combine = celtypes.logical_or if decided_by else celtypes.logical_and
        predicate = self.build_ss_macro_eval(tree)
        result: Any = celtypes.BoolType(not decided_by)
        for item in items:
            value = predicate(item)
            if isinstance(value, celtypes.BoolType) and bool(value) is decided_by:
                return value
            try:
                result = combine(result, value)
            except TypeError as exc:
                result = celpy.CELEvalError(
                    f"{method}(): no such overload", exc.__class__, exc.args
                )
        return result

    def _logical(self, tree: Any, operator: str, *, decided_by: bool) -> Any:
        left = self.visit(tree.children[0])
        if isinstance(left, celtypes.BoolType) and bool(left) is decided_by:
            return left
        right = self.visit(tree.children[1])
        try:
            return self.activation.resolve_function(operator)(left, right)
        except TypeError as exc:
            return celpy.CELEvalError(
                f"found no matching overload for {operator} applied to "
                f"({type(left).__name__}, {type(right).__name__})",
                exc.__class__,
                exc.args,
            )


class _Runner(celpy.InterpretedRunner):  # type: ignore[misc]
    def evaluate(self, context: Any) -> Any:
        return _Evaluator(ast=self.ast, activation=self.new_activation()).evaluate(context)


@cache
def _environment() -> celpy.Environment:
    # Building the parser is the costly part: once per process.
    return celpy.Environment(runner_class=_Runner)


_MACROS = frozenset({"has", "all", "exists", "exists_one", "map", "filter", "reduce", "min", "dyn"})
_TYPE_NAMES = frozenset(
    {"int", "uint", "double", "bool", "string", "bytes", "list", "map", "null_type", "type"}
)
VARIABLES = {
    PackTarget.KUBERNETES: frozenset({"object", "objects", "pod", "containers"}),
    PackTarget.DOCKERFILE: frozenset({"dockerfile", "stages", "instructions", "args", "final"}),
}


def _unknown_names(tree: Any, variables: frozenset[str]) -> list[str]:
    """Functions and variables an expression uses that nothing defines (typos, mostly)."""
    functions = set(FUNCTIONS) | set(celpy.base_functions) | _MACROS
    called: set[str] = set()
    bound: set[str] = set()
    used: set[str] = set()
    for node in tree.iter_subtrees():
        if node.data == "ident_arg":
            called.add(str(node.children[0]))
        elif node.data == "member_dot_arg":
            method = str(node.children[1])
            called.add(method)
            if method in _MACROS and len(node.children) > 2:
                bound.update(_idents(node.children[2].children[0]))
        elif node.data == "ident":
            used.add(str(node.children[0]))
    unknown = [f"function {name}()" for name in sorted(called - functions)]
    unknown += [
        f"variable {name}" for name in sorted(used - bound - variables - _TYPE_NAMES - functions)
    ]
    return unknown


def _idents(tree: Any) -> set[str]:
    return {str(node.children[0]) for node in tree.iter_subtrees() if node.data == "ident"}


def _program(text: str, variables: frozenset[str]) -> Any:
    env = _environment()
    tree = env.compile(text)
    unknown = _unknown_names(tree, variables)
    if unknown:
        raise ValueError(f"unknown {', '.join(unknown)}")
    return env.program(tree, functions=FUNCTIONS)


_ACTIVATION = re.compile(r" \(in activation .*", re.DOTALL)  # celpy appends every variable


def _error_text(error: BaseException) -> str:
    if isinstance(error, celpy.CELEvalError) and error.args:
        text = _ACTIVATION.sub("", str(error.args[0]))
        detail = error.args[2] if len(error.args) > 2 else None
        if detail and isinstance(detail, tuple | list):
            text = f"{text}: {'; '.join(str(d) for d in detail)}"
    else:
        text = f"{type(error).__name__}: {error}"
    return text if len(text) <= 400 else text[:397] + "..."


def _evaluate(program: Any, activation: Mapping[str, Any]) -> tuple[Any, str | None]:
    """The value of a compiled expression, or the text of the error it raised."""
    try:
        result = program.evaluate(dict(activation))
    except Exception as exc:  # any failure of a rule is reported, never passed
        return None, _error_text(exc)
    if isinstance(result, celpy.CELEvalError):
        return None, _error_text(result)
    return result, None


def _plain(value: Any) -> Any:
    """JSON-compatible data (YAML timestamps become strings, keys become strings)."""
    return json.loads(json.dumps(value, default=str))


@dataclass(frozen=True)
class _Compiled:
    rule: Rule
    check: Any
    message: Any
    line: Any


class Pack:
    """A named list of rules for one kind of document, compiled once."""

    def __init__(
        self, name: str, target: PackTarget, rules: list[Rule], *, source: str = "<pack>"
    ) -> None:
        self.name = name
        self.target = target
        self.rules = rules
        self.source = source
        self._compiled = [self._compile(rule) for rule in rules]

    def __repr__(self) -> str:
        return f"Pack({self.name!r}, {self.target.value}, {len(self.rules)} rules)"

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def _compile(self, rule: Rule) -> _Compiled:
        def compile_one(field: str, text: str) -> Any:
            if not text:
                return None
            try:
                return _program(text, VARIABLES[self.target])
            except Exception as exc:  # lark and celpy raise several parse error types
                raise PolicyPackError(
                    f"{self.source}: rule {rule.id!r}: `{field}` is not a valid expression: {exc}"
                ) from exc

        return _Compiled(
            rule,
            compile_one("assert", rule.expression),
            compile_one("message", rule.message_expression),
            compile_one("line", rule.line_expression),
        )

    def check(self, documents: Sequence[tuple[str, Any]]) -> list[Violation]:
        """Violations of every rule, in document order. ``documents`` are (file, document).

        For Kubernetes, the documents of one call form one environment: ``objects`` in
        cross-object rules. For Dockerfiles, each document comes from ``parse_dockerfile``.
        """
        if self.target is PackTarget.KUBERNETES:
            return self._check_kubernetes(documents)
        return self._check_dockerfiles(documents)

    def _check_kubernetes(self, documents: Sequence[tuple[str, Any]]) -> list[Violation]:
        entries = [(file, _plain(doc)) for file, doc in _flatten_lists(documents)]
        objects = celpy.json_to_cel([doc for _, doc in entries])
        violations: list[Violation] = []
        for position, ((file, _), obj) in enumerate(zip(entries, objects, strict=True)):
            kind = _field(obj, "kind")
            if not isinstance(kind, str) or not kind:
                subject = f"document {position + 1}"
                violations.append(
                    Violation(INVALID_DOCUMENT, file, subject, INVALID_DOCUMENT.description)
                )
                continue
            name = _lookup(obj, "metadata.name") or "?"
            pod = _pod_spec(obj)
            activation = {
                "object": obj,
                "objects": objects,
                "pod": pod,
                "containers": _containers(pod),
            }
            for compiled in self._compiled:
                if compiled.rule.applies_to(kind):
                    found = self._run(compiled, activation, file, f"{kind}/{name}")
                    if found is not None:
                        violations.append(found)
        return violations

    def _check_dockerfiles(self, documents: Sequence[tuple[str, Any]]) -> list[Violation]:
        violations: list[Violation] = []
        for file, doc in documents:
            dockerfile = celpy.json_to_cel(_plain(doc))
            name = Path(file).name or "Dockerfile"
            if not isinstance(dockerfile, dict):
                violations.append(
                    Violation(INVALID_DOCUMENT, file, name, "not a parsed Dockerfile")
                )
                continue
            stages = _field(dockerfile, "stages")
            final = stages[-1] if isinstance(stages, list) and stages else EMPTY_STAGE
            activation = {
                "dockerfile": dockerfile,
                "stages": stages,
                "instructions": _field(dockerfile, "instructions"),
                "args": _field(dockerfile, "args"),
                "final": celpy.json_to_cel(_plain(final)) if final is EMPTY_STAGE else final,
            }
            for compiled in self._compiled:
                found = self._run(compiled, activation, file, name)
                if found is not None:
                    violations.append(found)
        return violations

    def _run(
        self, compiled: _Compiled, activation: Mapping[str, Any], file: str, subject: str
    ) -> Violation | None:
        rule = compiled.rule
        result, error = _evaluate(compiled.check, activation)
        if error is not None:
            return Violation(rule, file, subject, f"rule could not be evaluated: {error}")
        if not isinstance(result, bool | celtypes.BoolType):
            return Violation(
                rule, file, subject, f"rule gave {_plain_repr(result)}, not true or false"
            )
        if result:
            return None
        if compiled.line is not None:
            line, _ = _evaluate(compiled.line, activation)
            if isinstance(line, int) and not isinstance(line, bool | celtypes.BoolType):
                subject = f"{subject}:{int(line)}"
        return Violation(rule, file, subject, self._message(compiled, activation))

    @staticmethod
    def _message(compiled: _Compiled, activation: Mapping[str, Any]) -> str:
        rule = compiled.rule
        if compiled.message is None:
            return rule.message or rule.description
        text, error = _evaluate(compiled.message, activation)
        if error is not None:
            return f"{rule.message or rule.description} (message failed: {error})"
        return text if isinstance(text, str) else _plain_repr(text)


def _plain_repr(value: Any) -> str:
    try:
        return json.dumps(value, cls=celpy.CELJSONEncoder)
    except (TypeError, ValueError):
        return repr(value)


def _flatten_lists(documents: Sequence[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """Drop empty documents; expand ``kind: List`` into its items."""
    out: list[tuple[str, Any]] = []
    for file, doc in documents:
        if doc is None:
            continue
        if isinstance(doc, Mapping) and doc.get("kind") == "List":
            out.extend((file, item) for item in doc.get("items") or [] if item is not None)
        else:
            out.append((file, doc))
    return out


# --- loading packs ----------------------------------------------------------------------------

_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_PACK_KEYS = {"name", "target", "description", "rules"}
_RULE_KEYS = {"id", "severity", "description", "hint", "match", "assert", "message", "line"}


def load_pack(path: Path) -> Pack:
    """Read and compile a pack file; raise PolicyPackError when it is malformed."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyPackError(f"{path}: cannot read the policy pack: {exc}") from exc
    try:
        data = YAML(typ="safe", pure=True).load(text)
    except YAMLError as exc:
        raise PolicyPackError(f"{path}: not valid YAML: {exc}") from exc
    return pack_from_data(data, source=str(path))


def pack_from_data(data: Any, *, source: str = "<pack>") -> Pack:
    """Build a pack from its parsed YAML (see policies/README.md for the layout)."""
    if not isinstance(data, Mapping):
        raise PolicyPackError(f"{source}: a policy pack is a mapping with name, target, rules")
    unknown = sorted(set(data) - _PACK_KEYS)
    if unknown:
        raise PolicyPackError(f"{source}: unknown keys {unknown} (allowed: {sorted(_PACK_KEYS)})")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise PolicyPackError(f"{source}: `name` must be a non-empty string")
    try:
        target = PackTarget(str(data.get("target")))
    except ValueError:
        allowed = [t.value for t in PackTarget]
        raise PolicyPackError(f"{source}: `target` must be one of {allowed}") from None
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise PolicyPackError(f"{source}: `rules` must be a non-empty list")
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_rules):
        rule = _rule(raw, index, target, source)
        if rule.id in seen:
            raise PolicyPackError(f"{source}: rule {rule.id!r}: the id is used twice")
        seen.add(rule.id)
        rules.append(rule)
    return Pack(name, target, rules, source=source)


def _rule(raw: Any, index: int, target: PackTarget, source: str) -> Rule:
    label = f"rule #{index + 1}"
    if isinstance(raw, Mapping) and isinstance(raw.get("id"), str):
        label = f"rule {raw['id']!r}"

    def fail(problem: str) -> PolicyPackError:
        return PolicyPackError(f"{source}: {label}: {problem}")

    if not isinstance(raw, Mapping):
        raise fail("a rule is a mapping")
    unknown = sorted(set(raw) - _RULE_KEYS)
    if unknown:
        raise fail(f"unknown keys {unknown} (allowed: {sorted(_RULE_KEYS)})")
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not _ID.match(rule_id):
        raise fail("`id` must be kebab-case (lowercase letters, digits and dashes)")
    try:
        severity = Severity(str(raw.get("severity")))
    except ValueError:
        raise fail("`severity` must be error or warning") from None
    texts = {}
    for key in ("description", "hint", "assert"):
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            raise fail(f"`{key}` must be a non-empty string")
        texts[key] = value.strip()
    kinds = _kinds(raw.get("match"), target, fail)
    message, message_expression = _message_fields(raw.get("message"), fail)
    line = raw.get("line", "")
    if line and target is not PackTarget.DOCKERFILE:
        raise fail("`line` is for Dockerfile rules only")
    if not isinstance(line, str):
        raise fail("`line` must be a CEL expression (a string)")
    return Rule(
        id=rule_id,
        severity=severity,
        description=texts["description"],
        hint=texts["hint"],
        kinds=kinds,
        expression=texts["assert"],
        message=message,
        message_expression=message_expression,
        line_expression=line.strip(),
    )


def _kinds(
    match: Any, target: PackTarget, fail: Callable[[str], PolicyPackError]
) -> tuple[str, ...]:
    if target is PackTarget.DOCKERFILE:
        if match is not None:
            raise fail("Dockerfile rules take no `match`")
        return ()
    if not isinstance(match, Mapping) or set(match) != {"kinds"}:
        raise fail('`match` must be a mapping with `kinds` (a list of kinds, or ["*"])')
    kinds = match["kinds"]
    if not isinstance(kinds, list) or not kinds:
        raise fail("`match.kinds` must be a non-empty list")
    if not all(isinstance(kind, str) and kind for kind in kinds):
        raise fail("`match.kinds` must hold kind names")
    return tuple(kinds)


def _message_fields(message: Any, fail: Callable[[str], PolicyPackError]) -> tuple[str, str]:
    """``message`` is plain text, or ``{cel: EXPR}`` for text computed from the document."""
    if message is None:
        return "", ""
    if isinstance(message, str) and message.strip():
        return message.strip(), ""
    if (
        isinstance(message, Mapping)
        and set(message) == {"cel"}
        and isinstance(message["cel"], str)
        and message["cel"].strip()
    ):
        return "", message["cel"].strip()
    raise fail("`message` must be plain text or a mapping {cel: EXPRESSION}")


def _builtin(name: str, target: PackTarget) -> Pack:
    pack = load_pack(data_dir("policies") / f"{name}.yaml")
    if pack.target is not target:
        raise PolicyPackError(f"{pack.source}: `target` must be {target.value}")
    return pack


@cache
def kubernetes_pack() -> Pack:
    """The shipped Kubernetes pack (policies/kubernetes.yaml), loaded once."""
    return _builtin("kubernetes", PackTarget.KUBERNETES)


@cache
def dockerfile_pack() -> Pack:
    """The shipped Dockerfile pack (policies/dockerfile.yaml), loaded once."""
    return _builtin("dockerfile", PackTarget.DOCKERFILE)

"""YAML loader with positions: bytes -> plain JSON-like data + a JSON-pointer -> span table.

The loader composes the YAML node graph with ruamel.yaml and builds Python values itself, so it
can reject what a blueprint must not contain (duplicate keys, alias bombs, custom tags, several
documents, non-string keys) with a positioned diagnostic instead of a traceback, and record where
every key and value came from. YAML 1.2 rules apply (``yes`` is a string, not a boolean).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from autocoder.diagnostics import DiagnosticSink, Span, codes

DEFAULT_MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_EXPANDED_NODES = 100_000
MAX_ALIASES = 1_000
MAX_DEPTH = 64

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"


def escape_pointer_token(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def join_pointer(base: str, *tokens: str | int) -> str:
    return base + "".join("/" + escape_pointer_token(str(t)) for t in tokens)


def max_file_bytes() -> int:
    raw = os.environ.get("AUTOCODER_MAX_FILE_BYTES", "")
    return int(raw) if raw.isdigit() else DEFAULT_MAX_FILE_BYTES


@dataclass
class PointerIndex:
    """JSON pointer -> span of the key (for mapping members) and of the value."""

    file: str
    values: dict[str, Span] = field(default_factory=dict)
    keys: dict[str, Span] = field(default_factory=dict)

    def span_for(self, pointer: str, *, key: bool = False) -> Span:
        """Span of ``pointer``; falls back to the nearest ancestor that exists."""
        probe = pointer
        while True:
            table = self.keys if key and probe in self.keys else self.values
            if probe in table:
                return table[probe]
            if not probe:
                return Span(self.file)
            probe = probe.rsplit("/", 1)[0]
            key = False


@dataclass
class LoadedDocument:
    """A YAML file read successfully: its text, plain data and pointer table."""

    file: str
    text: str
    data: dict[str, Any]
    index: PointerIndex


class _Reject(Exception):
    """Internal: stops the walk after a diagnostic was reported."""


def _span(file: str, node: Node) -> Span:
    start, end = node.start_mark, node.end_mark
    end_line, end_col = (end.line + 1, end.column + 1) if end is not None else (None, None)
    return Span(file, start.line + 1, start.column + 1, end_line, end_col)


def _decode(raw: bytes, file: str, sink: DiagnosticSink) -> str | None:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        sink.report(
            codes.NOT_UTF8,
            f"byte 0x{raw[exc.start]:02x} at offset {exc.start} is not valid UTF-8",
            span=Span(file, line, col),
            hint="save the file as UTF-8",
        )
        return None
    if "\x00" in text:
        offset = text.index("\x00")
        line = text.count("\n", 0, offset) + 1
        sink.report(
            codes.NOT_UTF8,
            "the file contains a NUL character (is it a binary file?)",
            span=Span(file, line, offset - (text.rfind("\n", 0, offset) + 1) + 1),
        )
        return None
    return text


class _Builder:
    """Turns a composed node graph into plain data, filling the pointer table."""

    def __init__(
        self, file: str, sink: DiagnosticSink, index: PointerIndex, *, scalar_keys: bool = False
    ) -> None:
        self.file = file
        self.sink = sink
        self.index = index
        self.scalar_keys = scalar_keys  # accept `200:` as the key "200" (OpenAPI documents)

    def reject(self, code: codes.Code, message: str, node: Node, hint: str | None = None) -> None:
        self.sink.report(code, message, span=_span(self.file, node), hint=hint)
        raise _Reject

    def check_expansion(self, root: Node) -> None:
        """Refuse alias bombs before anything is expanded (sizes computed over the DAG)."""
        sizes: dict[int, int] = {}
        seen: set[int] = set()
        aliases = 0
        # Iterative post-order walk; an id seen twice is an alias use.
        stack: list[tuple[Node, bool]] = [(root, False)]
        while stack:
            node, done = stack.pop()
            if done:
                children = _children(node)
                sizes[id(node)] = 1 + sum(sizes[id(c)] for c in children)
                # Without aliases a subtree is never larger than the nodes seen so far.
                if sizes[id(node)] > len(seen) + MAX_EXPANDED_NODES:
                    self.reject(
                        codes.ALIAS_BOMB,
                        f"anchors and aliases expand to over {MAX_EXPANDED_NODES:,} extra nodes",
                        node,
                        hint="remove the nested aliases; write the data out or split the file",
                    )
                continue
            if id(node) in seen:
                aliases += 1
                if aliases > MAX_ALIASES:
                    self.reject(codes.ALIAS_BOMB, f"more than {MAX_ALIASES:,} alias uses", node)
                continue
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((c, False) for c in _children(node))

    def build(self, node: Node, pointer: str, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            self.reject(codes.UNSUPPORTED_YAML, f"nesting deeper than {MAX_DEPTH} levels", node)
        self.index.values.setdefault(pointer, _span(self.file, node))
        if isinstance(node, MappingNode):
            return self.build_mapping(node, pointer, depth)
        if isinstance(node, SequenceNode):
            if str(node.tag) != "tag:yaml.org,2002:seq":
                self.reject_tag(node)
            return [
                self.build(item, join_pointer(pointer, i), depth + 1)
                for i, item in enumerate(node.value)
            ]
        return self.scalar(node)

    def build_mapping(self, node: MappingNode, pointer: str, depth: int) -> dict[str, Any]:
        if str(node.tag) != "tag:yaml.org,2002:map":
            self.reject_tag(node)
        out: dict[str, Any] = {}
        merged: list[MappingNode] = []
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and str(key_node.tag) == _MERGE:
                sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                for src in sources:
                    if not isinstance(src, MappingNode):
                        self.reject(codes.UNSUPPORTED_YAML, "`<<` merges only mappings", src)
                    merged.append(src)
                continue
            plain_scalar = self.scalar_keys and isinstance(key_node, ScalarNode)
            if not plain_scalar and (
                not isinstance(key_node, ScalarNode) or str(key_node.tag) != _STR
            ):
                shown = key_node.value if isinstance(key_node, ScalarNode) else "a collection"
                self.reject(
                    codes.NON_STRING_KEY,
                    f"mapping key {shown!r} is not a string",
                    key_node,
                    hint=f"quote it: '{shown}':" if isinstance(key_node, ScalarNode) else None,
                )
            key = key_node.value
            if key in out:
                first = self.index.keys[join_pointer(pointer, key)]
                self.reject(
                    codes.DUPLICATE_KEY,
                    f"duplicate key {key!r} (first defined at line {first.line})",
                    key_node,
                    hint="remove one of the two entries",
                )
            child = join_pointer(pointer, key)
            self.index.keys[child] = _span(self.file, key_node)
            out[key] = self.build(value_node, child, depth + 1)
        for src in merged:  # explicit keys win over merged ones, as YAML specifies
            for key_node, value_node in src.value:
                key = str(key_node.value)
                if key not in out:
                    child = join_pointer(pointer, key)
                    self.index.keys.setdefault(child, _span(self.file, key_node))
                    out[key] = self.build(value_node, child, depth + 1)
        return out

    def reject_tag(self, node: Node) -> None:
        self.reject(
            codes.UNSUPPORTED_YAML,
            f"custom tag {node.tag!s} is not allowed in blueprints",
            node,
            hint="remove the tag; blueprints hold plain data",
        )

    def scalar(self, node: Node) -> Any:
        tag, value = str(node.tag), node.value
        if tag in (_STR, _TIMESTAMP):
            return value
        if tag == _NULL:
            return None
        if tag == _BOOL:
            return value.lower() == "true"
        if tag == _INT:
            text = value.replace("_", "")
            for prefix, base in (("0x", 16), ("0o", 8), ("0b", 2)):
                if text.lower().lstrip("+-").startswith(prefix):
                    sign = -1 if text.startswith("-") else 1
                    return sign * int(text.lstrip("+-")[2:], base)
            return int(text)
        if tag == _FLOAT:
            text = value.replace("_", "").lower()
            number = float(text.replace(".inf", "inf").replace(".nan", "nan"))
            if not math.isfinite(number):
                self.reject(
                    codes.UNSUPPORTED_YAML,
                    f"{value} is not a finite number (blueprints are JSON-compatible)",
                    node,
                )
            return number
        self.reject_tag(node)
        return None


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def _compose(text: str) -> Node | None:
    """Compose with libyaml when ruamel.yaml.clib is installed (5x faster); libyaml follows
    YAML 1.1 in a few corners (``{url: https://x}`` in flow style), so whatever it refuses is
    parsed again by the pure YAML 1.2 parser, whose verdict and error positions are final."""
    try:
        node = YAML(typ="safe", pure=False).compose(text)
    except (ImportError, YAMLError):
        node = YAML(typ="safe", pure=True).compose(text)
    return cast("Node | None", node)


def load_yaml_text(
    text: str, file: str, sink: DiagnosticSink, *, scalar_keys: bool = False
) -> LoadedDocument | None:
    """Parse ``text`` (already decoded). Returns ``None`` after reporting on failure.
    ``scalar_keys`` accepts numbers and other scalars as mapping keys, as their text (an
    OpenAPI document's `200:` responses); blueprints require string keys."""
    index = PointerIndex(file)
    sink.add_source(file, text, index)
    try:
        root = _compose(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        if "another document" in problem:
            sink.report(
                codes.UNSUPPORTED_YAML,
                "the file holds more than one YAML document",
                span=Span(file, line, col),
                hint="keep one document per blueprint file",
            )
        else:
            sink.report(
                codes.YAML_SYNTAX,
                problem,
                span=Span(file, line, col),
                hint=_yaml_hint(problem, text, line, col),
            )
        return None
    except (YAMLError, RecursionError) as exc:
        message = "nesting too deep" if isinstance(exc, RecursionError) else str(exc)
        sink.report(codes.YAML_SYNTAX, message, span=Span(file))
        return None
    if root is None:
        sink.report(
            codes.NOT_A_MAPPING,
            "the document is empty",
            span=Span(file),
            hint="start from `autocoder init DIR`",
        )
        return None
    builder = _Builder(file, sink, index, scalar_keys=scalar_keys)
    try:
        builder.check_expansion(root)
        if not isinstance(root, MappingNode):
            builder.reject(
                codes.NOT_A_MAPPING, "the top level of a blueprint must be a mapping", root
            )
        data = builder.build(root, "")
    except _Reject:
        return None
    return LoadedDocument(file, text, data, index)


class _LazyIndex(PointerIndex):
    """The pointer table of a document parsed as JSON: built from the YAML node graph only
    when a diagnostic first asks for a position (a valid document never pays for it)."""

    def __init__(self, file: str, text: str, scalar_keys: bool) -> None:
        super().__init__(file)
        self._text: str | None = text
        self._scalar_keys = scalar_keys

    def span_for(self, pointer: str, *, key: bool = False) -> Span:
        if self._text is not None:
            text, self._text = self._text, None
            try:
                root = _compose(text)
                if root is not None:
                    builder = _Builder(self.file, DiagnosticSink(), self, scalar_keys=True)
                    builder.build(root, "")
            except (YAMLError, RecursionError, _Reject):
                pass  # positions stay unknown: the whole file is shown
        return super().span_for(pointer, key=key)


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(name)


def load_json_or_yaml_text(
    text: str, file: str, sink: DiagnosticSink, *, scalar_keys: bool = False
) -> LoadedDocument | None:
    """A document that may be JSON: parsed with ``json`` when it is a JSON object (about 15x
    faster than the YAML path on a large API contract; positions are worked out only if a
    diagnostic needs one), else, or on any JSON problem, by ``load_yaml_text`` (which reports
    it with its position)."""
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
        except (ValueError, RecursionError):
            data = None
        if isinstance(data, dict):
            index = _LazyIndex(file, text, scalar_keys)
            sink.add_source(file, text, index)
            return LoadedDocument(file, text, data, index)
    return load_yaml_text(text, file, sink, scalar_keys=scalar_keys)


def _yaml_hint(problem: str, text: str, line: int, col: int) -> str | None:
    lines = text.splitlines()
    at = lines[line - 1][col - 1 : col] if 0 < line <= len(lines) else ""
    if "'\\t'" in problem or at == "\t":
        return "YAML does not allow tabs for indentation; use spaces"
    if "mapping values are not allowed" in problem:
        return "a value containing ': ' must be quoted"
    return None


def load_yaml_file(
    path: Path, file: str, sink: DiagnosticSink, *, max_bytes: int | None = None
) -> LoadedDocument | None:
    """Read and parse a blueprint file. ``file`` is the name used in diagnostics; ``max_bytes``
    raises the size limit (API contracts are larger than blueprints)."""
    limit = max(max_file_bytes(), max_bytes or 0)
    try:
        size = path.stat().st_size
        if size > limit:
            sink.report(
                codes.FILE_TOO_LARGE,
                f"the file is {size:,} bytes; the limit is {limit:,}",
                span=Span(file),
                hint="split the system, or raise AUTOCODER_MAX_FILE_BYTES",
            )
            return None
        raw = path.read_bytes()
    except OSError as exc:
        sink.report(codes.IO_ERROR, f"cannot read the file: {exc.strerror or exc}", span=Span(file))
        return None
    text = _decode(raw, file, sink)
    if text is None:
        return None
    return load_yaml_text(text, file, sink)

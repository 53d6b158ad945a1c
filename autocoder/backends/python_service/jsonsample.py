"""Deterministic JSON values for the schemas of an OpenAPI document, made at generation time.

Mock responses, documented error bodies and the request bodies of generated tests all need a
value that is valid for one schema of the user's document. ``sample(schemas,
"#/components/schemas/Pet", "response")`` builds it from the document as converted by
:class:`autocoder.runtime.oas.Schemas` and validates it before returning it; :class:`NoSample`
says which schema pointer could not be satisfied and why.

For each (sub)schema the first that works wins: its ``examples``, ``default``, ``const`` and
``enum`` values (each checked against the schema), then a value built from its keywords.
``$ref`` and ``allOf`` are merged into one flat view (properties, required, type intersection,
the tighter bounds); ``oneOf``/``anyOf`` take the first branch whose value validates against
the whole schema, with the discriminator property set to the branch's name. Optional
properties are filled at the top level only (and a map gets one member there). Recursion is
cut: past a few levels of the same ``$ref``, a total depth or a total size, only what is
required is built, preferring null and empty arrays; a schema that needs itself without end,
or whose validation would never end, raises NoSample.

``variant=n`` (n > 0) gives the n-th of a series of distinct values where the schema allows
it: strings, uuids, e-mails, URIs and integers move (an example gets ``n`` appended or added;
a structured example is rebuilt from its schema); enums, booleans, numbers and dates stay as in
variant 0. Records built with variants 1..n get distinct keys.
"""

from __future__ import annotations

import copy
import json
import math
import re
import re._constants as sre  # type: ignore[import-not-found]
import re._parser as sre_parse  # type: ignore[import-not-found]
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

from jsonschema import Draft202012Validator
from jsonschema.exceptions import UnknownType, best_match
from jsonschema.protocols import Validator
from referencing.exceptions import Unresolvable

from autocoder.runtime.oas import BASE_URI, FORMATS, Direction, Schemas

from .samples import from_pattern

SAME_REF_LIMIT = 4  # the 4th level of one $ref builds only what is required
DEPTH_LIMIT = 12  # so does any value nested deeper than this
HARD_DEPTH = 40  # past this a schema that still recurses cannot be sampled
SIZE_LIMIT = 64  # objects and arrays built for one value; past it only what is required
WORK_LIMIT = 5_000  # attempts (subschemas, branches) for one value before giving up

_LOWER = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties", "minContains")
_UPPER = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties", "maxContains")
_KEPT = ("format", "uniqueItems", "readOnly", "writeOnly")
# Schema-valued keywords, to make a subschema's document refs absolute (_Sampler._validator).
_ONE = ("items", "additionalProperties", "not", "contains", "propertyNames", "if", "then")
_ONE_MORE = ("else", "unevaluatedItems", "unevaluatedProperties", "additionalItems")
_MANY = ("allOf", "oneOf", "anyOf", "prefixItems")
_MAP = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")

_FORMATS = {
    "date-time": "2026-01-15T09:30:00Z",
    "date": "2026-01-15",
    "time": "09:30:00Z",  # RFC 3339 full-time; _ALTERNATIVES has the draft-3 spelling
    "duration": "P1D",
    "email": "ada@example.com",
    "idn-email": "ada@example.com",
    "uuid": "00000000-0000-4000-8000-000000000001",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "iri": "https://example.com/",
    "uri-reference": "/sample",
    "iri-reference": "/sample",
    "uri-template": "https://example.com/{id}",
    "hostname": "example.com",
    "idn-hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "byte": "c2FtcGxl",
    "binary": "sample",
    "password": "s3cret-Passw0rd",
    "json-pointer": "/sample",
    "regex": "^sample$",
    "int32": "1",
    "int64": "1",
}
# Accepted by some format checkers only: tried when the first spelling does not validate.
_ALTERNATIVES = {"time": "09:30:00"}
_NUMERIC_FORMATS = {"int32": "integer", "int64": "integer", "float": "number", "double": "number"}
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_COMPONENT = re.compile(r"^#/components/schemas/([^/]+)$")

# Characters tried, in order, for a regex class position or a `.`.
_POOL = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-.@:/+,éßñ"
_CATEGORIES = {
    sre.CATEGORY_DIGIT: re.compile(r"\d"),
    sre.CATEGORY_NOT_DIGIT: re.compile(r"\D"),
    sre.CATEGORY_SPACE: re.compile(r"\s"),
    sre.CATEGORY_NOT_SPACE: re.compile(r"\S"),
    sre.CATEGORY_WORD: re.compile(r"\w"),
    sre.CATEGORY_NOT_WORD: re.compile(r"\W"),
    sre.CATEGORY_LINEBREAK: re.compile(r"\n"),
    sre.CATEGORY_NOT_LINEBREAK: re.compile(r"[^\n]"),
}
_LOOP = (
    "{}: validating it never ends: a $ref cycle that goes through no property or item "
    "(e.g. a base whose oneOf lists subtypes that are allOf the base)"
)
_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT)


class NoSample(Exception):
    """No valid value could be built; the message says why (names the schema pointer)."""


class _Broken(NoSample):
    """What no alternative works around: a $ref that does not resolve, a schema whose validation
    never ends, the work limit. An optional member or array item that hits one is not left out:
    the whole sample fails."""


def sample(schemas: Schemas, ref: str, direction: Direction, *, variant: int = 0) -> Any:
    """A JSON value valid for the schema at ``ref`` (validated with schemas.validator(ref,
    direction) before it is returned; NoSample when it does not validate or cannot be built)."""
    per_direction = _SAMPLERS.setdefault(schemas, {})
    if direction not in per_direction:
        per_direction[direction] = _Sampler(schemas, direction)
    return per_direction[direction].sample(ref, variant)


# --- the flat view of a schema: $ref and allOf merged -------------------------------------------


@dataclass(frozen=True)
class _Node:
    """A subschema of the converted document and its pointer there."""

    schema: Any
    at: str


@dataclass(frozen=True)
class _Choice:
    kind: str  # oneOf or anyOf
    branches: tuple[_Node, ...]
    discriminator: Any
    holder: _Node


@dataclass
class _Flat:
    """What a conjunction of subschemas asks for. Subschema-valued keywords keep their nodes
    (a list of them is their conjunction); bounds are merged into the tighter one."""

    at: str
    types: list[str] | None = None
    bounds: dict[str, Any] = field(default_factory=dict)
    patterns: list[str] = field(default_factory=list)
    multiples: list[int | float] = field(default_factory=list)
    candidates: list[Any] = field(default_factory=list)  # examples and defaults, in order
    consts: list[Any] = field(default_factory=list)
    enum: list[Any] | None = None
    required: list[str] = field(default_factory=list)
    dependent: dict[str, list[str]] = field(default_factory=dict)
    properties: dict[str, list[_Node]] = field(default_factory=dict)
    pattern_properties: dict[str, list[_Node]] = field(default_factory=dict)
    additional: list[_Node] = field(default_factory=list)
    closed: list[tuple[frozenset[str], tuple[str, ...]]] = field(default_factory=list)
    property_names: list[_Node] = field(default_factory=list)
    items: list[_Node] = field(default_factory=list)
    no_items: bool = False
    prefix: list[list[_Node]] = field(default_factory=list)
    contains: list[_Node] = field(default_factory=list)
    choices: list[_Choice] = field(default_factory=list)
    conditionals: list[tuple[_Node, _Node | None, _Node | None]] = field(default_factory=list)
    discriminators: list[tuple[Any, str]] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)
    origin: str | None = None  # the component the value stands for

    def meet_types(self, kinds: list[str], at: str) -> None:
        if self.types is None:
            self.types = list(kinds)
            return
        met = [t for t in self.types if t in kinds]
        if "integer" in self.types and "number" in kinds and "integer" not in met:
            met.append("integer")
        if "number" in self.types and "integer" in kinds and "integer" not in met:
            met.append("integer")
        if not met:
            raise NoSample(f"{at}: allOf asks for type {self.types} and {kinds} at once")
        self.types = met

    def meet_enum(self, values: list[Any], at: str) -> None:
        met = list(values) if self.enum is None else [v for v in self.enum if v in values]
        if not met:
            raise NoSample(f"{at}: the enums of allOf have no value in common")
        self.enum = met

    def bound(self, key: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return
        old = self.bounds.get(key)
        if old is None:
            self.bounds[key] = value
        else:
            self.bounds[key] = max(old, value) if key in _LOWER else min(old, value)

    def merge(self, other: _Flat) -> _Flat:
        """This conjunction and ``other``'s (a new object; neither is changed)."""
        out = copy.copy(self)
        for name in ("patterns", "multiples", "candidates", "consts", "additional", "closed"):
            setattr(out, name, [*getattr(self, name), *getattr(other, name)])
        for name in ("property_names", "items", "contains", "choices", "conditionals"):
            setattr(out, name, [*getattr(self, name), *getattr(other, name)])
        out.discriminators = [*self.discriminators, *other.discriminators]
        out.refs = [*self.refs, *other.refs]
        out.required = list(dict.fromkeys([*self.required, *other.required]))
        out.bounds = dict(self.bounds)
        for key, value in other.bounds.items():
            if key in _LOWER or key in _UPPER:
                out.bound(key, value)
            elif key in ("uniqueItems", "readOnly", "writeOnly"):
                out.bounds[key] = out.bounds.get(key) or value
            else:
                out.bounds.setdefault(key, value)
        out.types = None if self.types is None else list(self.types)
        if other.types is not None:
            out.meet_types(other.types, other.at)
        out.enum = self.enum
        if other.enum is not None:
            out.meet_enum(other.enum, other.at)
        out.dependent = {**self.dependent}
        for name, names in other.dependent.items():
            out.dependent[name] = [*out.dependent.get(name, []), *names]
        out.properties = _merge_maps(self.properties, other.properties)
        out.pattern_properties = _merge_maps(self.pattern_properties, other.pattern_properties)
        out.prefix = [
            [*(self.prefix[i] if i < len(self.prefix) else []), *(other.prefix[i])]
            if i < len(other.prefix)
            else list(self.prefix[i])
            for i in range(max(len(self.prefix), len(other.prefix)))
        ]
        out.no_items = self.no_items or other.no_items
        out.origin = self.origin or other.origin
        return out


def _merge_maps(
    first: dict[str, list[_Node]], second: dict[str, list[_Node]]
) -> dict[str, list[_Node]]:
    out = {name: list(nodes) for name, nodes in first.items()}
    for name, nodes in second.items():
        out.setdefault(name, []).extend(nodes)
    return out


def _key(nodes: tuple[_Node, ...]) -> tuple[tuple[int, str], ...]:
    """Nodes by identity: the same schema object may sit at two pointers (YAML aliases)."""
    return tuple((id(n.schema), n.at) for n in nodes)


def _child(at: str, *tokens: str) -> str:
    return at + "".join("/" + t.replace("~", "~0").replace("/", "~1") for t in tokens)


def _component_name(ref: str) -> str | None:
    found = _COMPONENT.match(ref)
    return unquote(found.group(1).replace("~1", "/").replace("~0", "~")) if found else None


# --- where a value is built ----------------------------------------------------------------------


@dataclass(frozen=True)
class _State:
    depth: int = 0
    refs: tuple[str, ...] = ()
    minimal: bool = False  # recursion: build only what is required

    def enter(self, refs: list[str], at: str) -> _State:
        if not refs:
            return self
        stack = (*self.refs, *refs)
        if len(stack) > HARD_DEPTH * 2:
            raise NoSample(f"{at}: {refs[-1]} refers to itself without end")
        minimal = self.minimal or any(stack.count(r) >= SAME_REF_LIMIT for r in refs)
        return _State(self.depth, stack, minimal)

    def child(self, at: str) -> _State:
        if self.depth >= HARD_DEPTH:
            chain = " -> ".join(dict.fromkeys(self.refs[-4:]))
            raise NoSample(f"{at}: the value nests without end (required recursion: {chain})")
        return _State(self.depth + 1, self.refs, self.minimal or self.depth + 1 > DEPTH_LIMIT)


_SAMPLERS: weakref.WeakKeyDictionary[Schemas, dict[str, _Sampler]] = weakref.WeakKeyDictionary()


class _Sampler:
    """Samples of one document in one direction; results cached by (ref, variant)."""

    def __init__(self, schemas: Schemas, direction: Direction) -> None:
        self._schemas = weakref.ref(schemas)  # the cache is keyed by it: no strong reference
        self.direction = direction
        self.results: dict[tuple[str, int], Any] = {}
        self.flats: dict[tuple[tuple[int, str], ...], tuple[_Flat, tuple[_Node, ...]]] = {}
        self.resolved: dict[str, _Node] = {}
        self.validators: dict[int, tuple[Any, Validator]] = {}
        self.exact: dict[tuple[str, int], bool] = {}
        self.verdicts: dict[tuple[tuple[tuple[int, str], ...], str], bool] = {}
        self.memo: dict[tuple[tuple[tuple[int, str], ...], int], Any] = {}
        self.failed: dict[tuple[tuple[tuple[int, str], ...], int], tuple[int, str]] = {}
        self.work = 0
        self.size = 0

    @property
    def schemas(self) -> Schemas:
        schemas = self._schemas()
        assert schemas is not None  # noqa: S101 - the caller holds it while sampling
        return schemas

    def sample(self, ref: str, variant: int) -> Any:
        key = (ref, variant)
        if key not in self.results:
            self.results[key] = self._sample(ref, variant)
        result = self.results[key]
        if isinstance(result, NoSample):
            raise NoSample(str(result))
        return copy.deepcopy(result)

    def _sample(self, ref: str, variant: int) -> Any:
        self.memo, self.failed, self.work, self.size = {}, {}, 0, 0
        try:
            root = self._resolve(ref, ref)
            value = self._value((root,), _State(refs=(ref,)), variant)
            error = best_match(self.schemas.validator(ref, self.direction).iter_errors(value))
        except NoSample as exc:
            message = str(exc)
            return NoSample(message if ref in message else f"{ref}: {message}")
        except (Unresolvable, UnknownType) as exc:
            return NoSample(f"{ref}: the schema cannot be checked: {exc}")
        except RecursionError:
            return NoSample(_LOOP.format(ref))
        except BaseException as exc:
            if not _panicked(exc):
                raise
            return NoSample(_LOOP.format(ref))
        if error is not None:
            where = error.json_path
            return NoSample(f"{ref}: the value built does not validate at {where}: {error.message}")
        return value

    # -- resolving and checking --------------------------------------------------------------

    def _resolve(self, ref: str, at: str) -> _Node:
        if ref not in self.resolved:
            if not ref.startswith("#"):
                raise _Broken(f"{at}: $ref {ref!r} points outside the document")
            for pointer in dict.fromkeys((ref, unquote(ref))):
                try:
                    self.resolved[ref] = _Node(
                        self.schemas.resolve(pointer, self.direction), pointer
                    )
                    break
                except Unresolvable:
                    continue
            else:
                raise _Broken(f"{at}: $ref {ref!r} does not resolve")
        return self.resolved[ref]

    def _valid(self, nodes: tuple[_Node, ...], value: Any) -> bool:
        # the same subtree is checked again at every oneOf above it: remember the verdicts
        key = (_key(nodes), json.dumps(value, sort_keys=True, default=repr))
        if key not in self.verdicts:
            if len(self.verdicts) > 100_000:
                self.verdicts.clear()
            try:
                verdict = all(self._validator(node).is_valid(value) for node in nodes)
            except (Unresolvable, UnknownType):
                verdict = False
            except RecursionError:
                raise _Broken(_LOOP.format(nodes[0].at)) from None
            except BaseException as exc:
                if not _panicked(exc):
                    raise
                raise _Broken(_LOOP.format(nodes[0].at)) from None
            self.verdicts[key] = verdict
        return self.verdicts[key]

    def _validator(self, node: _Node) -> Validator:
        """The document's validator for the node's pointer when the pointer leads to it, else
        one of the node's schema with its document refs made absolute."""
        key = (node.at, id(node.schema))
        if key not in self.exact:
            try:
                self.exact[key] = self.schemas.resolve(node.at, self.direction) is node.schema
            except Unresolvable:
                self.exact[key] = False
        if self.exact[key]:
            return self.schemas.validator(node.at, self.direction)
        if id(node.schema) not in self.validators:
            validator = Draft202012Validator(
                _absolute(node.schema),
                registry=self.schemas.registry(self.direction),
                format_checker=FORMATS,
            )
            self.validators[id(node.schema)] = (node.schema, validator)  # keeps the id alive
        return self.validators[id(node.schema)][1]

    # -- flattening ----------------------------------------------------------------------------

    def _flatten(self, nodes: tuple[_Node, ...]) -> _Flat:
        key = _key(nodes)
        if key not in self.flats:
            flat = _Flat(nodes[0].at if nodes else "#")
            for node in nodes:
                self._visit(flat, node, frozenset())
            for at in [*(n.at for n in nodes), *flat.refs]:
                if _component_name(at):
                    flat.origin = at
                    break
            self.flats[key] = (flat, nodes)  # the nodes keep the ids alive
        return self.flats[key][0]

    def _visit(self, flat: _Flat, node: _Node, seen: frozenset[str]) -> None:
        schema, at = node.schema, node.at
        if schema is True:
            return
        if not isinstance(schema, dict):
            raise NoSample(f"{at}: the schema is {schema!r}: no value is valid")
        examples = schema.get("examples")
        if isinstance(examples, list):
            flat.candidates.extend(e for e in examples if e is not None)
        for key in ("example", "default"):  # a 3.1 document may still say `example`
            if schema.get(key) is not None:
                flat.candidates.append(schema[key])
        ref = schema.get("$ref")
        if isinstance(ref, str):
            if ref in seen:
                raise _Broken(_LOOP.format(at))
            target = self._resolve(ref, at)
            flat.refs.append(target.at)
            self._visit(flat, target, seen | {ref})
        for key, value in schema.items():
            self._keyword(flat, node, key, value, seen)

    def _keyword(
        self, flat: _Flat, node: _Node, key: str, value: Any, seen: frozenset[str]
    ) -> None:
        schema, at = node.schema, node.at
        if key == "allOf" and isinstance(value, list):
            for i, branch in enumerate(value):
                self._visit(flat, _Node(branch, _child(at, key, str(i))), seen)
        elif key in ("oneOf", "anyOf") and isinstance(value, list):
            branches = tuple(_Node(b, _child(at, key, str(i))) for i, b in enumerate(value))
            flat.choices.append(_Choice(key, branches, schema.get("discriminator"), node))
        elif key == "if":
            then, other = schema.get("then"), schema.get("else")
            flat.conditionals.append(
                (
                    _Node(value, _child(at, "if")),
                    None if then is None else _Node(then, _child(at, "then")),
                    None if other is None else _Node(other, _child(at, "else")),
                )
            )
        elif key == "type":
            flat.meet_types([value] if isinstance(value, str) else list(value), at)
        elif key in ("properties", "patternProperties") and isinstance(value, dict):
            target = flat.properties if key == "properties" else flat.pattern_properties
            for name, sub in value.items():
                target.setdefault(name, []).append(_Node(sub, _child(at, key, name)))
        elif key in ("additionalProperties", "unevaluatedProperties"):
            if value is False:
                names = frozenset(schema.get("properties") or ())
                patterns = tuple(schema.get("patternProperties") or ())
                flat.closed.append((names, patterns) if key == "additionalProperties" else _ALL)
            elif key == "additionalProperties":
                flat.additional.append(_Node(value, _child(at, key)))
        elif key in ("propertyNames", "contains"):
            nodes = flat.property_names if key == "propertyNames" else flat.contains
            nodes.append(_Node(value, _child(at, key)))
        elif key == "items":
            if value is False:
                flat.no_items = True
            else:
                flat.items.append(_Node(value, _child(at, key)))
        elif key == "prefixItems" and isinstance(value, list):
            for i, sub in enumerate(value):
                if i >= len(flat.prefix):
                    flat.prefix.append([])
                flat.prefix[i].append(_Node(sub, _child(at, key, str(i))))
        elif key == "required" and isinstance(value, list):
            flat.required = list(dict.fromkeys([*flat.required, *value]))
        elif key == "dependentRequired" and isinstance(value, dict):
            for name, names in value.items():
                flat.dependent[name] = [*flat.dependent.get(name, []), *names]
        elif key == "const":
            flat.consts.append(value)
        elif key == "enum" and isinstance(value, list):
            flat.meet_enum(value, at)
        elif key == "pattern" and isinstance(value, str):
            flat.patterns.append(value)
        elif key == "multipleOf" and isinstance(value, int | float) and value > 0:
            flat.multiples.append(value)
        elif key == "discriminator" and isinstance(value, dict):
            flat.discriminators.append((value, at))
        elif key in _LOWER or key in _UPPER:
            flat.bound(key, value)
        elif key in _KEPT:
            if key == "format":
                flat.bounds.setdefault(key, value)
            else:
                flat.bounds[key] = flat.bounds.get(key) or value

    # -- values ----------------------------------------------------------------------------------

    def _value(self, nodes: tuple[_Node, ...], state: _State, variant: int) -> Any:
        """A value valid for every node (a conjunction)."""
        if not nodes:
            return f"sample{variant}" if variant else "sample"
        flat = self._flatten(nodes)
        outer, state = state, state.enter(flat.refs, flat.at)
        if self.size > SIZE_LIMIT and not state.minimal:
            state = replace(state, minimal=True)  # keeps wide recursive schemas small
        key = (_key(nodes), variant)
        if state.minimal:
            if key in self.memo:
                return copy.deepcopy(self.memo[key])
            failed = self.failed.get(key)
            if failed is not None and state.depth >= failed[0]:
                raise NoSample(failed[1])
        try:
            value = self._from_flat(nodes, flat, state, variant, frozenset())
        except _Broken:
            raise
        except NoSample as exc:
            if variant:
                return self._value(nodes, outer, 0)
            if state.minimal:
                self.failed[key] = (state.depth, str(exc))
            raise
        if state.minimal and key not in self.memo:  # the first is the smallest (the deepest)
            self.memo[key] = copy.deepcopy(value)
        return value

    def _from_flat(
        self,
        nodes: tuple[_Node, ...],
        flat: _Flat,
        state: _State,
        variant: int,
        resolved: frozenset[int],
    ) -> Any:
        self.work += 1
        if self.work > WORK_LIMIT:
            raise _Broken(f"{flat.at}: gave up after {WORK_LIMIT} attempts (too many branches)")
        for candidate in self._preferred(flat, variant):
            if self._valid(nodes, candidate):
                return copy.deepcopy(candidate)
        if flat.consts or flat.enum is not None:
            raise NoSample(f"{flat.at}: no value of its const/enum is valid for the schema")
        choices = [c for c in flat.choices if id(c.holder.schema) not in resolved]
        if choices:
            return self._choose(nodes, flat, choices[0], state, variant, resolved)
        value = self._build(nodes, flat, state, variant)
        for condition, then, other in flat.conditionals:
            extra = then if self._valid((condition,), value) else other
            if extra is None:
                continue
            try:
                merged = replace(flat, conditionals=[]).merge(self._flatten((extra,)))
                merged.conditionals = []
                value = self._from_flat(nodes, merged, state, variant, resolved)
            except _Broken:
                raise
            except NoSample:
                continue  # best effort: the final validation says whether it was enough
        return value

    def _preferred(self, flat: _Flat, variant: int) -> Iterator[Any]:
        """Example values, defaults, const and enum values, in that order; for a variant the
        examples varied (structured examples are left to the builder, which varies leaves)."""
        for candidate in flat.candidates:
            if not variant:
                yield candidate
            else:
                varied = _vary(candidate, variant, flat)
                if varied is not None:
                    yield varied
        yield from flat.consts
        if flat.enum is not None:
            yield from (v for v in flat.enum if v is not None)
            if None in flat.enum:
                yield None

    def _choose(
        self,
        nodes: tuple[_Node, ...],
        flat: _Flat,
        choice: _Choice,
        state: _State,
        variant: int,
        resolved: frozenset[int],
    ) -> Any:
        branches = list(choice.branches)
        if state.minimal:  # the cheapest first: null, then branches without a $ref
            branches.sort(key=lambda b: (_type_of(b.schema) != "null", "$ref" in _dict(b.schema)))
        reasons: list[str] = []
        for branch in branches:
            try:
                own = self._flatten((branch,))
                if any(c.holder.schema is choice.holder.schema for c in own.choices):
                    raise _Broken(_LOOP.format(branch.at))  # the branch is (allOf) its holder
                merged = flat.merge(own)
                value = self._from_flat(
                    nodes,
                    merged,
                    state.enter(own.refs, branch.at),
                    variant,
                    resolved | {id(choice.holder.schema)},
                )
            except _Broken:
                raise
            except NoSample as exc:
                reasons.append(str(exc))
                continue
            for candidate in (self._discriminate(value, choice, branch), value):
                if self._valid(nodes, candidate):
                    return candidate
            reasons.append(f"{branch.at}: its value is not valid for the whole {choice.kind}")
        why = f" ({reasons[0]})" if reasons else ""
        raise NoSample(f"{choice.holder.at}: no branch of {choice.kind} gives a valid value{why}")

    def _discriminate(self, value: Any, choice: _Choice, branch: _Node) -> Any:
        discriminator = choice.discriminator
        ref = _dict(branch.schema).get("$ref")
        if not isinstance(value, dict) or not isinstance(discriminator, dict) or not ref:
            return value
        prop = discriminator.get("propertyName")
        if not isinstance(prop, str):
            return value
        return {**value, prop: _mapped_name(discriminator, self._resolve(ref, branch.at).at)}

    # -- building from keywords ------------------------------------------------------------------

    def _build(self, nodes: tuple[_Node, ...], flat: _Flat, state: _State, variant: int) -> Any:
        kinds = flat.types if flat.types is not None else _infer(flat)
        real, null = [k for k in kinds if k != "null"], [k for k in kinds if k == "null"]
        order = null + real if state.minimal else real + null
        if not order:
            raise NoSample(f"{flat.at}: the type list is empty")
        error: NoSample | None = None
        for kind in order:
            try:
                return self._build_kind(kind, nodes, flat, state, variant)
            except _Broken:
                raise
            except NoSample as exc:
                error = error or exc
        assert error is not None  # noqa: S101 - order is not empty
        raise error

    def _build_kind(
        self, kind: str, nodes: tuple[_Node, ...], flat: _Flat, state: _State, variant: int
    ) -> Any:
        if kind == "null":
            return None
        if kind == "boolean":
            return True
        if kind in ("integer", "number"):
            return _number(flat, kind == "integer", variant)
        if kind == "string":
            return _string(flat, variant)
        if kind == "array":
            return self._array(flat, state, variant)
        if kind == "object":
            return self._object(flat, state, variant)
        raise NoSample(f"{flat.at}: unknown type {kind!r}")

    def _array(self, flat: _Flat, state: _State, variant: int) -> list[Any]:
        low, high = int(flat.bounds.get("minItems", 0)), flat.bounds.get("maxItems")
        if high is not None and low > high:
            raise NoSample(f"{flat.at}: minItems {low} is greater than maxItems {high}")
        want = low if state.minimal else max(low, 1, len(flat.prefix))
        if high is not None:
            want = min(want, int(high))
        if flat.no_items and want > len(flat.prefix):
            if low > len(flat.prefix):
                raise NoSample(f"{flat.at}: minItems {low} but only {len(flat.prefix)} items")
            want = len(flat.prefix)
        unique = bool(flat.bounds.get("uniqueItems"))
        child = state.child(flat.at)
        self.size += 1
        out: list[Any] = []
        for i in range(want):
            nodes = tuple(flat.prefix[i] if i < len(flat.prefix) else flat.items)
            try:
                if unique:
                    out.append(self._distinct(nodes, child, variant + i, out, flat.at))
                elif i > len(flat.prefix):
                    out.append(copy.deepcopy(out[len(flat.prefix)]))
                else:
                    out.append(self._value(nodes, child, variant))
            except _Broken:
                raise
            except NoSample:
                if i < low:
                    raise
                break  # an item that recurses forever: fewer (or no) items
        if flat.contains and not state.minimal:  # best effort, and no deeper when recursing
            contains = tuple(flat.contains)
            if not any(self._valid(contains, item) for item in out):
                item = self._value(contains, child, variant)
                if high is None or len(out) < high:
                    out.append(item)
                elif out:
                    out[-1] = item
        return out

    def _distinct(
        self, nodes: tuple[_Node, ...], state: _State, variant: int, taken: list[Any], at: str
    ) -> Any:
        for tries in range(8):
            value = self._value(nodes, state, variant + tries * 7)
            if value not in taken:
                return value
        flat = self._flatten(nodes)
        for value in [*flat.candidates, *flat.consts, *(flat.enum or [])]:
            if value not in taken and self._valid(nodes, value):
                return copy.deepcopy(value)
        if _infer_kinds(flat) == ["boolean"] and False not in taken:
            return False
        raise NoSample(f"{at}: cannot make {len(taken) + 1} distinct items (uniqueItems)")

    def _object(self, flat: _Flat, state: _State, variant: int) -> dict[str, Any]:
        child = state.child(flat.at)
        self.size += 1
        low, high = int(flat.bounds.get("minProperties", 0)), flat.bounds.get("maxProperties")
        if high is not None and low > high:
            raise NoSample(f"{flat.at}: minProperties {low} is greater than maxProperties {high}")
        required = list(flat.required)
        out: dict[str, Any] = {}
        for name in required:
            out[name] = self._value(self._member(flat, name), child, variant)
        top = state.depth == 0 and not state.minimal
        hidden = "read_only" if self.direction == "request" else "write_only"
        optional = [n for n in flat.properties if n not in out and _allowed(flat, n)]
        visible = [n for n in optional if not self._marked(flat, n, hidden)]
        if top:
            for name in visible:
                self._try_add(out, flat, name, child, variant)
        for name in list(out):
            for extra in flat.dependent.get(name, []):
                if extra not in out:
                    out[extra] = self._value(self._member(flat, extra), child, variant)
        is_map = not flat.properties and any(_dict(n.schema) for n in flat.additional)
        wanted = max(low, 1 if top and (is_map or flat.pattern_properties) else 0)
        for name in [*visible, *optional]:
            if len(out) >= wanted:
                break
            if name not in out:
                self._try_add(out, flat, name, child, variant)
        if len(out) < wanted:
            try:
                self._fill(out, flat, child, variant, wanted)
            except _Broken:
                raise
            except NoSample:
                if len(out) < low:
                    raise
        if high is not None:
            for name in [n for n in reversed(list(out)) if n not in required]:
                if len(out) <= high:
                    break
                del out[name]
        return self._inherit(out, flat)

    def _member(self, flat: _Flat, name: str) -> tuple[_Node, ...]:
        nodes = list(flat.properties.get(name, []))
        for pattern, pattern_nodes in flat.pattern_properties.items():
            if _search(pattern, name):
                nodes.extend(pattern_nodes)
        if name not in flat.properties and len(nodes) == 0:
            nodes.extend(flat.additional)
        return tuple(nodes)

    def _marked(self, flat: _Flat, name: str, mark: str) -> bool:
        member = self._flatten(self._member(flat, name))
        key = "readOnly" if mark == "read_only" else "writeOnly"
        return bool(member.bounds.get(key))

    def _try_add(
        self, out: dict[str, Any], flat: _Flat, name: str, state: _State, variant: int
    ) -> None:
        try:
            out[name] = self._value(self._member(flat, name), state, variant)
        except _Broken:
            raise
        except NoSample:
            pass  # an optional member that cannot be built is left out

    def _fill(
        self, out: dict[str, Any], flat: _Flat, state: _State, variant: int, wanted: int
    ) -> None:
        """Members with generated names, up to ``wanted`` (minProperties, or a map's one)."""
        patterns = list(flat.pattern_properties)
        failed: set[tuple[tuple[int, str], ...]] = set()  # member schemas that cannot be built
        error: NoSample | None = None
        for k in range(variant, variant + 50):
            if len(out) >= wanted:
                return
            if patterns:
                name = _pattern_text(patterns[0], k)
            elif flat.property_names:
                name = self._value(tuple(flat.property_names), state, k)
            else:
                name = f"key{k}" if k else "key"
            if not isinstance(name, str) or name in out or not _allowed(flat, name):
                continue
            nodes = self._member(flat, name)
            if _key(nodes) in failed:
                continue
            try:
                out[name] = self._value(nodes, state, variant)
            except _Broken:
                raise
            except NoSample as exc:
                failed.add(_key(nodes))
                error = error or exc
        if error is not None:
            raise error  # why its members cannot be built (recursion, say)
        raise NoSample(f"{flat.at}: cannot find {wanted} property names that it allows")

    def _inherit(self, value: dict[str, Any], flat: _Flat) -> dict[str, Any]:
        """A subtype (allOf of a base with a discriminator) names itself in the property."""
        for discriminator, holder in flat.discriminators:
            prop = _dict(discriminator).get("propertyName")
            if flat.origin is None or holder == flat.origin or prop not in value:
                continue
            name = _mapped_name(discriminator, flat.origin)
            if self._valid(tuple(flat.properties.get(prop, [])), name):
                value[prop] = name
        return value


# --- helpers for scalars --------------------------------------------------------------------------

_ALL: tuple[frozenset[str], tuple[str, ...]] = (frozenset(), ("\0all",))


def _allowed(flat: _Flat, name: str) -> bool:
    """Whether every ``additionalProperties: false`` of the conjunction lets ``name`` in."""
    for names, patterns in flat.closed:
        if (names, patterns) == _ALL:
            if name not in flat.properties:
                return False
        elif name not in names and not any(_search(p, name) for p in patterns):
            return False
    return True


def _panicked(exc: BaseException) -> bool:
    """rpds (under referencing) turns a RecursionError raised inside it into a Rust panic,
    which Python sees as a BaseException."""
    return type(exc).__name__ == "PanicException"


def _dict(schema: Any) -> dict[str, Any]:
    return schema if isinstance(schema, dict) else {}


def _type_of(schema: Any) -> Any:
    return _dict(schema).get("type")


def _mapped_name(discriminator: Any, target: str) -> str:
    """The discriminator value of the schema at ``target``: its mapping key, else its name."""
    name = _component_name(target) or target.rsplit("/", 1)[-1]
    mapping = _dict(discriminator).get("mapping")
    for key, value in _dict(mapping).items():
        if value in (target, name) or unquote(str(value)) == target:
            return str(key)
    return name


def _infer(flat: _Flat) -> list[str]:
    return _infer_kinds(flat) or ["string"]


def _infer_kinds(flat: _Flat) -> list[str]:
    b = flat.bounds
    if flat.types is not None:
        return flat.types
    if flat.properties or flat.required or flat.additional or flat.pattern_properties:
        return ["object"]
    if flat.closed or flat.property_names or "minProperties" in b or "maxProperties" in b:
        return ["object"]
    if flat.items or flat.prefix or flat.contains or "minItems" in b or "maxItems" in b:
        return ["array"]
    if b.get("format") in _NUMERIC_FORMATS:
        return [_NUMERIC_FORMATS[b["format"]]]
    if flat.patterns or "format" in b or "minLength" in b or "maxLength" in b:
        return ["string"]
    if flat.multiples or any(k in b for k in _LOWER[:2] + _UPPER[:2]):
        return ["number"]
    return []


def _vary(candidate: Any, variant: int, flat: _Flat) -> Any:
    """An example value made the ``variant``-th distinct one, or None to leave it to the
    builder (structured values, formats whose variants the builder makes)."""
    if isinstance(candidate, bool) or candidate is None or isinstance(candidate, float):
        return candidate
    if isinstance(candidate, int):
        step = next((m for m in flat.multiples if isinstance(m, int)), 1)
        return candidate + variant * step
    if isinstance(candidate, str):
        fmt = flat.bounds.get("format")
        if fmt in _FORMATS and fmt not in _VARYING:
            return candidate  # dates and the like stay
        return None if fmt in _VARYING else f"{candidate}{variant}"
    return None


def _is_multiple(value: int | float, of: int | float) -> bool:
    """jsonschema's own multipleOf test (float division for a float divisor)."""
    if isinstance(of, float):
        try:
            quotient = value / of
            return int(quotient) == quotient
        except OverflowError:
            return (Fraction(value) / Fraction(of)).denominator == 1
    return value % of == 0


def _number(flat: _Flat, integer: bool, variant: int) -> int | float:
    b = flat.bounds
    low, high = b.get("minimum"), b.get("maximum")
    above, below = b.get("exclusiveMinimum"), b.get("exclusiveMaximum")
    if integer and b.get("format") in _INT_RANGES:
        least, most = _INT_RANGES[b["format"]]
        low = least if low is None else max(low, least)
        high = most if high is None else min(high, most)

    def ok(v: int | float) -> bool:
        return (
            (low is None or v >= low)
            and (high is None or v <= high)
            and (above is None or v > above)
            and (below is None or v < below)
            and all(_is_multiple(v, m) for m in flat.multiples)
        )

    if integer:
        first = max(
            [math.ceil(x) for x in (low,) if x is not None]
            + [math.floor(x) + 1 for x in (above,) if x is not None],
            default=None,
        )
        last = min(
            [math.floor(x) for x in (high,) if x is not None]
            + [math.ceil(x) - 1 for x in (below,) if x is not None],
            default=None,
        )
        if first is not None and last is not None and first > last:
            raise NoSample(f"{flat.at}: no integer lies between the bounds")
        step = math.lcm(*[m for m in flat.multiples if isinstance(m, int)]) or 1
        tries: list[int] = [1]
        if first is not None:
            tries += [-(-first // step) * step, first]
        if last is not None:
            tries += [(last // step) * step, last]
        tries += [step, 0, -step]
        base = next((t for t in tries if ok(t)), None)
        if base is None:
            start = first if first is not None else (last if last is not None else 0)
            base = next((start + d for d in range(1000) if ok(start + d)), None)
        if base is None:
            raise NoSample(f"{flat.at}: no integer in the bounds is a multiple of {flat.multiples}")
        for moved in (base + variant * step, base - variant * step):
            if variant and ok(moved):
                return moved
        return base
    lower = low if low is not None else above
    upper = high if high is not None else below
    tries_f: list[int | float] = [1]
    if lower is not None:
        tries_f += [lower, lower + 1]
    if upper is not None:
        tries_f += [upper, upper - 1]
    if lower is not None and upper is not None:
        tries_f.append((lower + upper) / 2)
    for m in flat.multiples:
        for edge in (lower, upper, 1):
            if edge is not None:
                tries_f += [math.ceil(edge / m) * m, math.floor(edge / m) * m]
        tries_f.append(m)
    tries_f.append(0)
    found = next((t for t in tries_f if ok(t)), None)
    if found is None:
        raise NoSample(f"{flat.at}: no number satisfies its bounds and multipleOf")
    return float(found)


_VARYING = {"uuid", "email", "idn-email", "uri", "url", "iri", "hostname", "int32", "int64"}


def _format_variant(fmt: str, variant: int) -> str:
    if fmt == "uuid":
        return f"00000000-0000-4000-8000-{variant + 1:012x}"
    if fmt in ("email", "idn-email"):
        return f"ada+{variant}@example.com"
    if fmt == "hostname":
        return f"host{variant}.example.com"
    if fmt in ("int32", "int64"):
        return str(1 + variant)
    return f"https://example.com/{variant}"


def _string(flat: _Flat, variant: int) -> str:
    low, high = int(flat.bounds.get("minLength", 0)), flat.bounds.get("maxLength")
    if high is not None and low > high:
        raise NoSample(f"{flat.at}: minLength {low} is greater than maxLength {high}")
    for text in _texts(flat, variant, low, high):
        if _text_ok(flat, text, low, high):
            return text
    wants = [f"pattern {p!r}" for p in flat.patterns] + [f"length {low}..{high}"]
    if "format" in flat.bounds:
        wants.append(f"format {flat.bounds['format']!r}")
    raise NoSample(f"{flat.at}: no string found with {', '.join(wants)}")


def _texts(flat: _Flat, variant: int, low: int, high: int | None) -> Iterator[str]:
    fmt = flat.bounds.get("format")
    if variant:
        if fmt in _VARYING:
            yield _format_variant(str(fmt), variant)
        if flat.patterns:
            yield from _pattern_texts(flat.patterns[0], variant, low)
        elif fmt not in _FORMATS:
            yield _fit(f"sample{variant}", low, high, str(variant))
    if fmt in _FORMATS:
        yield _FORMATS[fmt]
        if fmt in _ALTERNATIVES:
            yield _ALTERNATIVES[fmt]
        yield _fit(_FORMATS[fmt], low, high, "")
    if flat.patterns:
        yield from _pattern_texts(flat.patterns[0], 0, low)
    yield _fit("sample", low, high, "")


def _fit(text: str, low: int, high: int | None, tail: str) -> str:
    """``text`` padded to ``low`` and cut to ``high`` characters, keeping ``tail`` at its end."""
    if len(text) < low:
        head = text[: len(text) - len(tail)] if tail else text
        text = (head * (low // max(len(head), 1) + 1))[: low - len(tail)] + tail
    if high is not None and len(text) > high:
        text = text[len(text) - high :] if tail else text[:high]
    return text


def _text_ok(flat: _Flat, text: str, low: int, high: int | None) -> bool:
    if len(text) < low or (high is not None and len(text) > high):
        return False
    if not all(_search(p, text) for p in flat.patterns):
        return False
    fmt = flat.bounds.get("format")
    return not isinstance(fmt, str) or FORMATS.conforms(text, fmt)


@lru_cache(maxsize=4096)
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _search(pattern: str, text: str) -> bool:
    compiled = _compiled(pattern)
    return compiled is None or compiled.search(text) is not None


def _pattern_text(pattern: str, variant: int) -> str:
    return next((t for t in _pattern_texts(pattern, variant, 0) if _search(pattern, t)), "a")


def _pattern_texts(pattern: str, variant: int, low: int) -> Iterator[str]:
    """Strings meant to match ``pattern``: the blueprint sampler's first, then walks that
    repeat more (to reach a minLength), with lookaheads spelled out (password rules)."""
    yield from_pattern(pattern, variant)
    parsed = _parsed(pattern)
    if parsed is None:
        return
    for lookahead in (False, True):
        for extra in (0, -1, 1, 2, 3, 5, 8, 13, 21, 34, 55, low):
            try:
                text = _Walk(variant, extra, lookahead).walk(parsed)
            except (ValueError, RecursionError):
                continue
            yield text
            if len(text) < low:
                pad = "a" * (low - len(text))
                yield text + pad
                yield pad + text


@lru_cache(maxsize=1024)
def _parsed(pattern: str) -> Any:
    try:
        return sre_parse.parse(pattern)
    except (re.error, ValueError, TypeError):
        return None


class _Walk:
    """One string for a parsed regex: repeats ``extra`` more times than their minimum (-1:
    exactly the minimum), class positions count through ``variant`` (mixed radix)."""

    def __init__(self, variant: int, extra: int, lookahead: bool) -> None:
        self.counter = variant
        self.extra = extra
        self.lookahead = lookahead
        self.groups: dict[int, str] = {}

    def walk(self, items: Any) -> str:
        return "".join(self._item(op, arg) for op, arg in items)

    def _item(self, op: Any, arg: Any) -> str:
        if op is sre.LITERAL:
            return chr(arg)
        if op is sre.NOT_LITERAL:
            return self._pick([c for c in _POOL if ord(c) != arg])
        if op is sre.ANY:
            return self._pick(list(_POOL))
        if op is sre.IN:
            return self._pick(_members(arg))
        if op in _REPEATS:
            low, high, sub = arg
            times = low if self.extra < 0 else min(max(low, 1 if high else 0) + self.extra, high)
            return "".join(self.walk(sub) for _ in range(times))
        if op is sre.SUBPATTERN:
            text = self.walk(arg[-1])
            if arg[0] is not None:
                self.groups[arg[0]] = text
            return text
        if op is sre.ATOMIC_GROUP:
            return self.walk(arg)
        if op is sre.BRANCH:
            return self.walk(arg[1][0])
        if op is sre.GROUPREF:
            return self.groups.get(arg, "")
        if op is sre.GROUPREF_EXISTS:
            group, yes, no = arg
            chosen = yes if group in self.groups else no
            return self.walk(chosen) if chosen is not None else ""
        if op is sre.ASSERT and self.lookahead and arg[0] == 1:
            return self.walk(arg[1])
        return ""  # anchors, lookbehinds and negative lookaheads produce nothing

    def _pick(self, chars: list[str]) -> str:
        if not chars:
            raise ValueError("an empty class")
        if self.counter:
            self.counter, index = divmod(self.counter, len(chars))
            return chars[index]
        return chars[0]


def _members(items: Any) -> list[str]:
    """The characters of a regex class: its own literals and range starts first, then the
    pool's characters that it admits."""
    negated = any(op is sre.NEGATE for op, _ in items)
    own: list[str] = []
    if not negated:
        for op, arg in items:
            if op is sre.LITERAL:
                own.append(chr(arg))
            elif op is sre.RANGE:
                own.extend(chr(c) for c in range(arg[0], min(arg[1], arg[0] + 63) + 1))
    chars = [c for c in dict.fromkeys([*own, *_POOL]) if _in_class(c, items)]
    return chars


def _in_class(char: str, items: Any) -> bool:
    negated, hit = False, False
    for op, arg in items:
        if op is sre.NEGATE:
            negated = True
        elif op is sre.LITERAL:
            hit = hit or ord(char) == arg
        elif op is sre.RANGE:
            hit = hit or arg[0] <= ord(char) <= arg[1]
        elif op is sre.CATEGORY:
            category = _CATEGORIES.get(arg)
            hit = hit or bool(category and category.match(char))
    return hit != negated


def _absolute(schema: Any) -> Any:
    """A copy of ``schema`` whose document refs (``#/...``) name the document's URI."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "$ref" and isinstance(value, str) and value.startswith("#"):
            out[key] = BASE_URI + value
        elif key in _ONE or key in _ONE_MORE:
            out[key] = _absolute(value)
        elif key in _MANY and isinstance(value, list):
            out[key] = [_absolute(v) for v in value]
        elif key in _MAP and isinstance(value, dict):
            out[key] = {name: _absolute(v) for name, v in value.items()}
        else:
            out[key] = value
    return out

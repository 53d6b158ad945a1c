"""What the Python service back end generates for a contract API (ADR 0009).

For an ``api`` component that serves an OpenAPI document: the document itself
(``app/contracts/<api>.json``), schema-valid examples of its response bodies computed here
(``app/contracts/<api>.examples.json``: mock replies and documented error bodies), one handler
per operation — a ``runtime.resources`` handler for a call to a ``documents`` collection, else
a user-owned method that answers in mock mode until written — and, for each collection, where
its documents go in each reply (``Shape``) and how its list pages and filters (``Paging``).
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from autocoder.backends.python_service.jsonsample import NoSample, sample
from autocoder.ir.models import IR, Component
from autocoder.runtime.oas import Schemas
from autocoder.runtime.operations import Contract
from autocoder.runtime.operations import Operation as ContractOperation

from .views import pascal, snake

_JSON = re.compile(r"^application/(.+\+)?json$")
WRITES = ("create", "replace", "patch")
LIMIT_NAMES = (
    "limit",
    "per_page",
    "perpage",
    "page_size",
    "pagesize",
    "size",
    "max_results",
    "maxresults",
    "top",
    "$top",
    "count",
    "max",
)
OFFSET_NAMES = ("offset", "skip", "start", "$skip", "from")
PAGE_NAMES = ("page", "page_number", "pagenumber", "pageno")
CURSOR_NAMES = (
    "cursor",
    "page_token",
    "pagetoken",
    "after",
    "continuation",
    "next",
    "starting_after",
    "next_token",
    "nexttoken",
)
TOTAL_NAMES = (
    "total",
    "total_count",
    "totalcount",
    "count",
    "total_items",
    "totalitems",
    "total_results",
    "totalresults",
    "size",
)
NEXT_NAMES = (
    "next",
    "next_cursor",
    "nextcursor",
    "cursor",
    "next_page_token",
    "nextpagetoken",
    "continuation",
    "next_token",
    "nexttoken",
)


@dataclass(frozen=True)
class ShapeSpec:
    """A ``runtime.resources.Shape`` as the generator decides it."""

    kind: str
    member: str | None = None
    total: str | None = None
    cursor: str | None = None
    fixed: dict[str, Any] = field(default_factory=dict)
    body: Any = None

    @property
    def expr(self) -> str:
        """The Python expression building it."""
        args = [repr(self.kind)]
        for name in ("member", "total", "cursor"):
            if getattr(self, name) is not None:
                args.append(f"{name}={getattr(self, name)!r}")
        if self.fixed:
            args.append(f"fixed={self.fixed!r}")
        if self.kind == "fixed":
            args.append(f"body={self.body!r}")
        return f"Shape({', '.join(args)})"


@dataclass
class DocumentsView:
    name: str
    attr: str
    table: str
    key: str
    key_type: str
    key_strategy: str
    schema: str  # pointer of the document schema in the contract


@dataclass
class ContractOpView:
    key: str
    func: str  # the Python name of its handler method
    method: str
    path: str
    summary: str
    handler: str | None  # a Python expression building a resources handler; None: logic
    mock: dict[str, Any] | None = None  # logic: {"status", "media_type", "body"}
    note: str = ""  # why a collection reply is fixed, when it is
    call: tuple[str, str] | None = None  # (collection attr, operation)
    status: int = 200
    shape: tuple[str, str | None] = ("empty", None)  # (kind, member) of the reply


@dataclass
class ContractApiView:
    name: str
    module: str
    klass: str
    file: str
    document: dict[str, Any]
    examples: dict[str, Any] = field(default_factory=dict)
    ops: list[ContractOpView] = field(default_factory=list)

    @property
    def logic_ops(self) -> list[ContractOpView]:
        return [op for op in self.ops if op.handler is None]


def documents_views(ir: IR) -> list[DocumentsView]:
    return [
        DocumentsView(
            name=c.name,
            attr=snake(c.name),
            table=snake(c.name),
            key=str(c.config["key"]),
            key_type=str(c.config.get("key_type", "string")),
            key_strategy=str(c.config.get("key_strategy", "uuid")),
            schema="#" + str(c.config["schema"]).partition("#")[2],
        )
        for c in ir.components
        if c.kind == "documents"
    ]


def _python_names(keys: list[str]) -> dict[str, str]:
    """A distinct Python identifier per operation key (``GET /$count`` -> ``get_count``)."""
    taken: set[str] = set()
    out = {}
    for key in keys:
        base = snake(key) or "operation"
        name, n = base, 2
        while name in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(name)
        out[key] = name
    return out


class _Builder:
    def __init__(self, component: Component, ir: IR) -> None:
        if component.contract is None:
            raise ValueError(f"{component.name} has no contract")
        self.component = component
        self.document = component.contract.as_written()
        self.contract = Contract(self.document)
        self.schemas: Schemas = self.contract.schemas
        self.collections = {d.name: d for d in documents_views(ir)}
        self.examples: dict[str, Any] = {}

    def example(self, ref: str) -> Any:
        """A valid response body for the schema at ``ref`` (cached), or raises NoSample."""
        if ref not in self.examples:
            self.examples[ref] = sample(self.schemas, ref, "response")
        return self.examples[ref]

    def valid(self, ref: str, value: Any) -> bool:
        return bool(self.schemas.validator(ref, "response").is_valid(value))

    def success(self, op: ContractOperation) -> tuple[int, str | None, str]:
        """(status, media type, schema pointer or "") of the first documented 2xx reply."""
        statuses = sorted(
            (s for s in op.responses if s[:1] == "2"), key=lambda s: (not s.isdigit(), s)
        )
        status_key = statuses[0] if statuses else ("default" if "default" in op.responses else "")
        status = int(status_key) if status_key.isdigit() else 200
        media = op.responses.get(status_key, {})
        for name, ref in media.items():
            if _JSON.match(name.split(";")[0].strip()):
                return status, name, ref
        if media:
            name, ref = next(iter(media.items()))
            return status, name, ref
        return status, None, ""

    def build(self) -> ContractApiView:
        component = self.component
        module = snake(component.name)
        view = ContractApiView(
            name=component.name,
            module=module,
            klass=pascal(component.name),
            file=component.contract.file if component.contract else "",
            document=self.document,
        )
        names = _python_names([r.operation_id for r in component.routes])
        for route in component.routes:
            op = self.contract.operations.get(route.operation_id)
            if op is None:  # the IR and the document disagree: the compiler prevents this
                continue
            status, media, ref = self.success(op)
            entry = ContractOpView(
                key=route.operation_id,
                func=names[route.operation_id],
                method=route.method,
                path=route.path,
                summary=route.summary,
                handler=None,
            )
            if route.call is not None and route.call.component in self.collections:
                collection = self.collections[route.call.component]
                entry.handler, entry.note, entry.shape = self.collection_handler(
                    op, route.call.operation, collection, status, media, ref
                )
                entry.call = (collection.attr, route.call.operation)
                entry.status = status
            else:
                entry.mock = self.mock(status, media, ref)
            view.ops.append(entry)
        self.error_examples()
        view.examples = dict(sorted(self.examples.items()))
        return view

    def mock(self, status: int, media: str | None, ref: str) -> dict[str, Any]:
        body: Any = None
        if ref and media and _JSON.match(media.split(";")[0].strip()):
            try:
                body = self.example(ref)
            except NoSample:
                body = None
        return {"status": status, "media_type": media, "body": body}

    def error_examples(self) -> None:
        """Examples for every documented non-2xx JSON reply (the runtime builds error bodies
        from them)."""
        for op in self.contract.operations.values():
            for status, media in op.responses.items():
                if status[:1] == "2":
                    continue
                for name, ref in media.items():
                    if ref and _JSON.match(name.split(";")[0].strip()):
                        with contextlib.suppress(NoSample):
                            self.example(ref)

    # --- collections --------------------------------------------------------------------

    def collection_handler(
        self,
        op: ContractOperation,
        operation: str,
        collection: DocumentsView,
        status: int,
        media: str | None,
        ref: str,
    ) -> tuple[str, str, tuple[str, str | None]]:
        store = f"documents.{collection.attr}"
        try:
            document = sample(self.schemas, collection.schema, "response")
        except NoSample:
            document = None
        shape, note = self.shape(operation, document, ref)
        answer = f"Answer({status!r}, {media!r}, {shape.expr})"
        key_param = op.path[op.path.rindex("{") + 1 : -1] if "{" in op.path else ""
        kind = (shape.kind, shape.member)
        server = self.server_fields(collection, document)
        with_server = f", server={server}" if server and operation in WRITES else ""
        if operation == "list":
            return f"list_handler({store}, {answer}, {self.paging(op, collection)})", note, kind
        if operation == "create":
            return f"create_handler({store}, {answer}{with_server})", note, kind
        handler = f"{operation}_handler({store}, {answer}, key_param={key_param!r}{with_server})"
        return handler, note, kind

    def server_fields(self, collection: DocumentsView, document: Any) -> str:
        """``ServerFields(...)`` for the document's readOnly members the server must set
        (those the response requires, and timestamps), or "" when there are none."""
        schema = self.schemas.resolve(collection.schema, "response")
        properties = _properties(schema)
        required = set(schema.get("required") or []) if isinstance(schema, dict) else set()
        created: list[str] = []
        touched: list[str] = []
        fixed: dict[str, Any] = {}
        for name, spec in properties.items():
            if name == collection.key or not isinstance(spec, dict):
                continue
            if not spec.get("readOnly"):
                continue
            if spec.get("format") == "date-time":
                (touched if re.search(r"updat|modif", name, re.I) else created).append(name)
            elif name in required and isinstance(document, dict) and name in document:
                fixed[name] = document[name]
        if not (created or touched or fixed):
            return ""
        return (
            f"ServerFields(created={tuple(created)!r}, touched={tuple(touched)!r}, fixed={fixed!r})"
        )

    def shape(self, operation: str, document: Any, ref: str) -> tuple[ShapeSpec, str]:
        if not ref:
            return ShapeSpec("empty"), ""
        if document is None:
            return self.fixed(ref), "the collection's schema has no valid sample"
        if operation == "list":
            if self.valid(ref, [document]):
                return ShapeSpec("list"), ""
            return self.wrapped(ref, [document], listing=True)
        if self.valid(ref, document):
            return ShapeSpec("document"), ""
        return self.wrapped(ref, document, listing=False)

    def wrapped(self, ref: str, value: Any, *, listing: bool) -> tuple[ShapeSpec, str]:
        """The document (or list) as one member of an object body, other members fixed."""
        try:
            base = self.example(ref)
        except NoSample:
            return ShapeSpec("empty"), "the reply schema has no valid sample"
        if not isinstance(base, dict):
            return self.fixed(ref), "the reply schema has no place for the documents"
        schema = self.schemas.resolve(ref, "response")
        properties = _properties(schema)
        for member in sorted(properties, key=lambda m: (m not in base, m)):
            fixed = {k: v for k, v in base.items() if k != member}
            total = _named(fixed, TOTAL_NAMES, int) if listing else None
            cursor = _named(fixed, NEXT_NAMES, str) if listing else None
            trial = dict(fixed)
            trial[member] = value
            if total is not None:
                trial[total] = 1
            if cursor is not None:
                trial[cursor] = None
            if not self.valid(ref, trial):
                if cursor is None:
                    continue
                trial[cursor] = "c"  # a cursor member that cannot be null
                if not self.valid(ref, trial):
                    continue
            fixed = {k: v for k, v in fixed.items() if k not in (total, cursor)}
            kind = "list" if listing else "member"
            return ShapeSpec(kind, member, total, cursor, fixed), ""
        return self.fixed(ref), "the reply schema has no member the documents fit"

    def fixed(self, ref: str) -> ShapeSpec:
        try:
            body = self.example(ref)
        except NoSample:
            return ShapeSpec("empty")
        return ShapeSpec("fixed", body=body)

    def paging(self, op: ContractOperation, collection: DocumentsView) -> str:
        roles: dict[str, str] = {}
        filters: dict[str, str] = {}
        properties = _properties(self.schemas.resolve(collection.schema, "response"))
        for parameter in op.parameters:
            if parameter.location != "query":
                continue
            lowered = parameter.name.lower()
            for role, names in (
                ("limit", LIMIT_NAMES),
                ("offset", OFFSET_NAMES),
                ("page", PAGE_NAMES),
                ("cursor", CURSOR_NAMES),
            ):
                if lowered in names and role not in roles:
                    roles[role] = parameter.name
                    break
            else:
                if parameter.name in properties:
                    filters[parameter.name] = parameter.name
        args = [f"{role}={name!r}" for role, name in sorted(roles.items())]
        if filters:
            args.append(f"filters={filters!r}")
        return f"Paging({', '.join(args)})"


def _properties(schema: Any) -> dict[str, Any]:
    if not isinstance(schema, dict):
        return {}
    found: dict[str, Any] = {}
    for part in schema.get("allOf") or []:
        found.update(_properties(part))
    props = schema.get("properties")
    if isinstance(props, dict):
        found.update(props)
    return found


def _named(members: dict[str, Any], names: tuple[str, ...], kind: type) -> str | None:
    for name, value in members.items():
        if name.lower() in names and (isinstance(value, kind) or value is None):
            return name
    return None


def contract_api_views(ir: IR) -> list[ContractApiView]:
    return [
        _Builder(c, ir).build() for c in ir.components if c.kind == "api" and c.contract is not None
    ]


# --- generated tests ------------------------------------------------------------------------

API_KEY = "test-key"
BASIC = ("tester", "test-pass")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_text(v) for v in value)
    if isinstance(value, dict):
        return ",".join(f"{k},{_text(v)}" for k, v in value.items())
    return str(value)


def _credentials(
    document: dict[str, Any], op: ContractOperation
) -> tuple[dict[str, str], dict[str, str], dict[str, str], str]:
    """(headers, query, cookies, token kind) passing the operation's first security option."""
    headers: dict[str, str] = {}
    query: dict[str, str] = {}
    cookies: dict[str, str] = {}
    kind = ""
    if not op.security:
        return headers, query, cookies, kind
    schemes = (document.get("components") or {}).get("securitySchemes") or {}
    for name in op.security[0]:
        scheme = schemes.get(name) or {}
        if scheme.get("type") == "apiKey":
            target = {"header": headers, "query": query, "cookie": cookies}.get(
                str(scheme.get("in")), headers
            )
            target[str(scheme.get("name"))] = API_KEY
        elif scheme.get("type") == "http" and str(scheme.get("scheme")).lower() == "basic":
            kind = "basic"
        elif scheme.get("type") in ("http", "oauth2", "openIdConnect"):
            kind = "bearer"
    return headers, query, cookies, kind


@dataclass
class RequestCase:
    key: str
    method: str
    path: str  # with path parameters filled in
    query: dict[str, str]
    headers: dict[str, str]
    cookies: dict[str, str]
    auth: str  # "", "bearer", "basic"
    json: Any = None
    data: Any = None
    skip: str = ""  # why the request cannot be built


def request_cases(view: ContractApiView) -> list[RequestCase]:
    contract = Contract(view.document)
    schemas = contract.schemas
    cases = []
    for op in contract.operations.values():
        headers, query, cookies, auth = _credentials(view.document, op)
        path = contract.base_path + op.path
        case = RequestCase(op.key, op.method, path, query, headers, cookies, auth)
        try:
            for parameter in op.parameters:
                if parameter.location != "path" and not parameter.required:
                    continue
                ref = parameter.schema or parameter.content_schema
                value = sample(schemas, ref, "request") if ref else "x"
                if parameter.media_type is not None:
                    text = json.dumps(value)
                elif parameter.location == "path" and parameter.style == "label":
                    text = "." + _text(value)
                elif parameter.location == "path" and parameter.style == "matrix":
                    text = f";{parameter.name}={_text(value)}"
                else:
                    text = _text(value)
                if parameter.location == "path":
                    case.path = case.path.replace("{" + parameter.name + "}", text)
                elif parameter.location == "query":
                    case.query[parameter.name] = text
                elif parameter.location == "header":
                    case.headers[parameter.name] = text
                else:
                    case.cookies[parameter.name] = text
            if op.body and (op.body_required or op.method in ("POST", "PUT", "PATCH")):
                media, ref = next(iter(op.body.items()))
                essence = media.split(";")[0].strip()
                if _JSON.match(essence) or essence == "*/*":
                    case.json = sample(schemas, ref, "request") if ref else {}
                    if essence != "application/json":
                        case.headers["Content-Type"] = (
                            essence if essence != "*/*" else "application/json"
                        )
                elif essence == "application/x-www-form-urlencoded":
                    case.data = sample(schemas, ref, "request") if ref else {}
                elif op.body_required:
                    case.skip = f"a {essence} body is not built by the generated tests"
        except NoSample as exc:
            case.skip = f"no valid sample request: {exc}"
        cases.append(case)
    return cases

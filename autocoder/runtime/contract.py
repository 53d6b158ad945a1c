"""Serve an OpenAPI 3.0/3.1 contract exactly: the running service behaves as its document says.

``Contract(document)`` reads the document's operations (path-item parameters merged, local
``$ref`` followed) and matches request paths to them. ``contract_app`` is the route serving
them: it checks the operation's security requirements, reads every parameter by its style,
coerces and validates parameters and body against the document's own schemas (``oas.Schemas``)
and calls the operation's handler with a ``Call`` of plain data; the handler's ``Reply`` is
written out as documented. Every error, whoever raised it, goes through one function that
answers with the response the document gives for that status (built from a precomputed
example), else with ``http.py``'s error shape. ``serve_document`` makes ``/openapi.json`` the
document itself. Matchers are built once; validators once per schema, on first use.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from fastapi import FastAPI
from starlette.datastructures import UploadFile, URLPath
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

from .http import ApiError, ApiKeys, JwtVerifier, TokenError
from .logs import get_logger, request_id
from .operations import (
    ABSENT,
    DELIMITERS,
    Contract,
    Operation,
    Parameter,
    PathItem,
    follow,
    json_type,
)
from .store import StoreError

__all__ = [
    "Call",
    "Contract",
    "ContractError",
    "ContractRoute",
    "Credentials",
    "Handler",
    "Operation",
    "Parameter",
    "PathItem",
    "Reply",
    "UploadedFile",
    "contract_app",
    "serve_document",
]

_log = get_logger(__name__)
_IGNORED_HEADERS = frozenset({"accept", "content-type", "authorization"})
_ERROR_TEXT_FIELDS = ("message", "detail", "error", "error_description", "title", "description")
_FOUND = "autocoder.contract"  # the scope key carrying the match from matches() to handle()


# ----------------------------------------------------------------------------- the handlers


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart body."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class Call:
    """What a handler receives: the validated parameters and body, and who is calling."""

    operation: Operation
    path: dict[str, Any]
    query: dict[str, Any]
    headers: dict[str, Any]  # the declared header parameters, by declared name
    cookies: dict[str, Any]
    body: Any  # a JSON value, a form dict, str or bytes; None without a body
    media_type: str | None  # the body's media type as the contract declares it
    files: dict[str, UploadedFile]  # multipart file parts by field name (the first per field)
    principal: dict[str, Any]  # {"scheme": name, ...claims}; {} when anonymous
    request: Request


@dataclass
class Reply:
    """What a handler answers: a JSON value, or bytes/str with ``media_type``."""

    status: int
    body: Any = None
    media_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Call], Awaitable[Reply]]


class ContractError(Exception):
    """Raise it from a handler to answer with the error response the contract documents."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.headers = dict(headers or {})


# ------------------------------------------------------------------------------ parameters


class _Unreadable(ValueError):
    """A parameter value that is not written in its style."""


def _flat_object(items: list[str]) -> dict[str, str]:
    if len(items) % 2:
        raise _Unreadable("expected name,value pairs")
    return dict(zip(items[::2], items[1::2], strict=True))


def _pairs_object(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        name, equals, value = item.partition("=")
        if not equals:
            raise _Unreadable("expected name=value pairs")
        out[name] = value
    return out


def _simple(raw: str, shape: str, explode: bool, separator: str = ",") -> Any:
    if shape == "array":
        return raw.split(separator) if raw else []
    if shape == "object":
        items = raw.split(separator) if raw else []
        return _pairs_object(items) if explode else _flat_object(items)
    return raw


def _path_value(raw: str, parameter: Parameter, shape: str) -> Any:
    if parameter.style == "label":
        if not raw.startswith("."):
            raise _Unreadable("expected a label-style value (.value)")
        separator = "." if parameter.explode else ","
        return _simple(raw[1:], shape, parameter.explode, separator)
    if parameter.style == "matrix":
        if not raw.startswith(";"):
            raise _Unreadable(f"expected a matrix-style value (;{parameter.name}=value)")
        parts = raw[1:].split(";")
        if shape == "object" and parameter.explode:
            return _pairs_object(parts)
        named = [part.partition("=") for part in parts]
        if any(name != parameter.name for name, _, _ in named):
            raise _Unreadable(f"expected a matrix-style value (;{parameter.name}=value)")
        values = [value for _, _, value in named]
        if shape == "array" and parameter.explode:
            return values
        return _simple(values[0], shape, False)
    return _simple(raw, shape, parameter.explode)


def _cookie_pairs(request: Request) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for header in request.headers.getlist("cookie"):
        for chunk in header.split(";"):
            name, equals, value = chunk.strip().partition("=")
            if equals:
                pairs.append((name.strip(), unquote(value.strip().strip('"'))))
    return pairs


def _json_media(media: str) -> bool:
    essence = _essence(media)
    return essence == "application/json" or essence.endswith("+json")


def _essence(media: str) -> str:
    return media.split(";", 1)[0].strip().lower()


def _json(text: str | bytes) -> Any:
    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


# --------------------------------------------------------------------------------- security


@dataclass
class Credentials:
    """The secrets security schemes are checked against: the API keys (``apiKey`` schemes and,
    as ``user:password``, ``http basic``) and the JWT verifier (``http bearer``, ``oauth2``,
    ``openIdConnect``). Without keys or a secret every protected request is refused."""

    api_keys: ApiKeys
    tokens: JwtVerifier

    @classmethod
    def from_environment(cls) -> Credentials:
        """API_KEYS / API_KEYS_FILE and JWT_SECRET / JWT_SECRET_FILE / JWT_PUBLIC_KEY_FILE
        (JWT_AUDIENCE, JWT_ISSUER), as ``http.py``'s dependencies read them."""
        return cls(ApiKeys.from_environment(), JwtVerifier.from_environment())


class _Refused(Exception):
    """A security scheme that did not pass: ``kind`` is missing, invalid or forbidden."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class _Security:
    """Checks an operation's security requirements against a request."""

    def __init__(self, document: dict[str, Any], credentials: Credentials) -> None:
        self.credentials = credentials
        raw = (document.get("components") or {}).get("securitySchemes") or {}
        self.schemes: dict[str, dict[str, Any]] = {}
        for name, scheme in raw.items():
            resolved, _ = follow(document, scheme, ("components", "securitySchemes", name))
            if isinstance(resolved, dict):
                self.schemes[str(name)] = resolved

    def kinds(self, operations: Iterable[Operation]) -> set[str]:
        """``api_keys`` and/or ``tokens``: which credentials the operations need."""
        needed: set[str] = set()
        for operation in operations:
            for alternative in operation.security:
                for name in alternative:
                    scheme = self.schemes.get(name, {})
                    kind, http = scheme.get("type"), str(scheme.get("scheme", "")).lower()
                    if kind == "apiKey" or (kind == "http" and http == "basic"):
                        needed.add("api_keys")
                    elif kind in ("oauth2", "openIdConnect") or http == "bearer":
                        needed.add("tokens")
        return needed

    def authenticate(self, operation: Operation, request: Request) -> dict[str, Any]:
        """The principal the request establishes; ``ContractError`` 401/403 when none."""
        if not operation.security:
            return {}
        refusals: list[_Refused] = []
        for alternative in operation.security:
            if not alternative:
                continue
            try:
                principal: dict[str, Any] = {}
                for name, scopes in alternative.items():
                    principal = {**self._check(name, scopes, request), **principal}
                return principal
            except _Refused as refused:
                refusals.append(refused)
        if any(not alternative for alternative in operation.security):
            return {}  # anonymous callers are allowed: so is one whose credential failed
        forbidden = [r for r in refusals if r.kind == "forbidden"]
        if forbidden:
            challenge = 'Bearer error="insufficient_scope"'
            headers = {"WWW-Authenticate": challenge}
            raise ContractError(403, "insufficient_scope", forbidden[0].message, headers=headers)
        invalid = [r for r in refusals if r.kind == "invalid"]
        reported = invalid[0] if invalid else refusals[0]
        challenge = self._challenge(operation.security[0], invalid=bool(invalid))
        headers = {"WWW-Authenticate": challenge} if challenge else {}
        raise ContractError(401, "unauthorized", reported.message, headers=headers)

    def _check(self, name: str, scopes: tuple[str, ...], request: Request) -> dict[str, Any]:
        scheme = self.schemes.get(name)
        if scheme is None:
            raise _Refused("invalid", f"the security scheme {name!r} is not defined")
        kind = scheme.get("type")
        if kind == "apiKey":
            return self._api_key(name, scheme, request)
        if kind == "http":
            http = str(scheme.get("scheme", "")).lower()
            if http == "bearer":
                return self._bearer(name, (), request)
            if http == "basic":
                return self._basic(name, request)
            raise _Refused("invalid", f"HTTP {http!r} authentication is not supported")
        if kind in ("oauth2", "openIdConnect"):
            return self._bearer(name, scopes, request)
        raise _Refused("invalid", f"the security scheme {name!r} ({kind}) cannot be checked")

    def _api_key(self, name: str, scheme: dict[str, Any], request: Request) -> dict[str, Any]:
        where, key = str(scheme.get("in", "")), str(scheme.get("name", ""))
        if where == "header":
            value = request.headers.get(key)
        elif where == "query":
            value = request.query_params.get(key)
        elif where == "cookie":
            value = dict(_cookie_pairs(request)).get(key)
        else:
            raise _Refused("invalid", f"the security scheme {name!r} has no valid location")
        if not self.credentials.api_keys.keys():
            raise _Refused("invalid", "the service has no API keys configured")
        if not value:
            raise _Refused("missing", f"missing API key in {where} {key}")
        if not self.credentials.api_keys.check(value):
            raise _Refused("invalid", "invalid API key")
        return {"scheme": name}

    @staticmethod
    def _authorization(request: Request, expected: str) -> str | None:
        kind, _, value = request.headers.get("authorization", "").strip().partition(" ")
        return (value.strip() or None) if kind.lower() == expected else None

    def _bearer(self, name: str, scopes: tuple[str, ...], request: Request) -> dict[str, Any]:
        if not self.credentials.tokens.configured():
            raise _Refused("invalid", "the service has no JWT secret or public key configured")
        token = self._authorization(request, "bearer")
        if token is None:
            raise _Refused("missing", "missing bearer token")
        try:
            claims = self.credentials.tokens.verify(token)
        except TokenError as exc:
            raise _Refused("invalid", str(exc)) from exc
        if scopes and ("scope" in claims or "scp" in claims):
            granted = claims.get("scp", claims.get("scope"))
            held = set(granted.split() if isinstance(granted, str) else granted or ())
            lacking = [scope for scope in scopes if scope not in held]
            if lacking:
                raise _Refused("forbidden", "the token lacks the scopes: " + " ".join(lacking))
        return {**claims, "scheme": name}

    def _basic(self, name: str, request: Request) -> dict[str, Any]:
        if not self.credentials.api_keys.keys():
            raise _Refused("invalid", "the service has no API keys configured")
        encoded = self._authorization(request, "basic")
        if encoded is None:
            raise _Refused("missing", "missing basic credentials")
        try:
            pair = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise _Refused("invalid", "malformed basic credentials") from exc
        user, colon, _ = pair.partition(":")
        if not colon or not self.credentials.api_keys.check(pair):
            raise _Refused("invalid", "invalid user or password")
        return {"scheme": name, "username": user}

    def _challenge(self, alternative: Mapping[str, Any], *, invalid: bool) -> str:
        challenges: list[str] = []
        for name in alternative:
            scheme = self.schemes.get(name, {})
            kind, http = scheme.get("type"), str(scheme.get("scheme", "")).lower()
            if kind == "apiKey":
                challenges.append(f'ApiKey {scheme.get("in")}="{scheme.get("name")}"')
            elif kind == "http" and http == "basic":
                challenges.append('Basic realm="api"')
            elif http == "bearer" or kind in ("oauth2", "openIdConnect"):
                challenges.append('Bearer error="invalid_token"' if invalid else "Bearer")
        return ", ".join(dict.fromkeys(challenges))


# ------------------------------------------------------------------------------- the route


@dataclass(frozen=True)
class _RouteLabel:
    """What the metrics middleware reads from ``scope["route"]``: the path template."""

    path_format: str


def _route_path(scope: Scope) -> str:
    """The request path as sent (percent-encoded), without the application's root path."""
    path = str(scope.get("path") or "/")
    root = str(scope.get("root_path") or "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/"):
        path = path[len(root) :] or "/"
    raw = scope.get("raw_path")
    if isinstance(raw, bytes):
        text = raw.split(b"?", 1)[0].decode("utf-8", "replace")
        if unquote(text) == path:
            return text  # keeps an encoded "/" inside a segment
    return path.replace("%", "%25")


class ContractRoute(BaseRoute):
    """Serves every operation of a contract; the last route of the application, it answers
    every HTTP request the routes before it do not (404 for a path no route has)."""

    def __init__(
        self,
        contract: Contract,
        handlers: Mapping[str, Handler],
        *,
        credentials: Credentials | None = None,
        validate_responses: bool = False,
    ) -> None:
        unknown = sorted(set(handlers) - set(contract.operations))
        if unknown:
            raise ValueError(f"handlers for operations the contract lacks: {', '.join(unknown)}")
        self.contract = contract
        self.handlers = dict(handlers)
        self.validate_responses = validate_responses
        self.security = _Security(contract.document, credentials or Credentials.from_environment())
        needed = self.security.kinds(contract.operations.values())
        if "api_keys" in needed:
            self.security.credentials.api_keys.keys()  # warn at startup when there is none
        if "tokens" in needed:
            self.security.credentials.tokens.keys()

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        found = self.contract.find(_route_path(scope))
        if found is None:
            # partial: a route before this one that has the path (another method) answers
            # 405; else this one answers 404, before any redirect of a trailing slash
            return Match.PARTIAL, {_FOUND: None}
        return Match.FULL, {_FOUND: found, "route": _RouteLabel(found[0].template)}

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        raise NoMatchFound(name, path_params)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The route on its own as an ASGI application."""
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        match, child = self.matches(scope)
        if match is Match.NONE:  # a websocket
            await send({"type": "websocket.close", "code": 1000})
            return
        scope.update(child)
        await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = scope[_FOUND] if _FOUND in scope else self.contract.find(_route_path(scope))
        request = Request(scope, receive)
        if found is None:
            response = self.error(None, 404, "not_found", f"no path {request.url.path}")
        else:
            item, values = found
            scope["route"] = _RouteLabel(item.template)
            operation = item.operations.get(str(scope["method"]).upper())
            if operation is None:  # another template of the same shape may have the method
                other = self.contract.find(_route_path(scope), str(scope["method"]))
                if other is not None and other[0] is not item:
                    item, values = other
                    scope["route"] = _RouteLabel(item.template)
                    operation = item.operations.get(str(scope["method"]).upper())
            if operation is None:
                allow = {"Allow": ", ".join(item.operations)}
                message = f"{scope['method']} is not allowed on {item.template}"
                response = self.error(None, 405, "method_not_allowed", message, headers=allow)
            else:
                response = await self._respond(operation, values, request)
        await response(scope, receive, send)

    async def _respond(
        self, operation: Operation, values: dict[str, str], request: Request
    ) -> Response:
        try:
            principal = self.security.authenticate(operation, request)
            handler = self.handlers.get(operation.key)
            if handler is None:
                message = f"the operation {operation.key} is not implemented"
                raise ContractError(501, "not_implemented", message)
            call = await self._call(operation, values, request, principal)
            reply = await handler(call)
            return self._write(operation, reply, request)
        except ContractError as exc:
            return self.error(
                operation, exc.status, exc.code, exc.message, exc.details, exc.headers
            )
        except StoreError as exc:
            return self.error(operation, exc.status, exc.code, exc.message, exc.details)
        except ApiError as exc:
            details = [d.model_dump(mode="json") for d in exc.details]
            return self.error(operation, exc.status, exc.code, exc.message, details, exc.headers)
        except HTTPException:
            raise  # the body limit's 413 among them: http.py answers those
        except Exception as exc:
            if _documented(operation, 500) is None:
                raise
            _log.error("unhandled error in %s", operation.key, exc_info=exc)
            return self.error(operation, 500, "internal_error", "internal server error")

    # ---------------------------------------------------------------------------- requests

    async def _call(
        self,
        operation: Operation,
        values: dict[str, str],
        request: Request,
        principal: dict[str, Any],
    ) -> Call:
        details: list[dict[str, Any]] = []
        read = self._parameters(operation, values, request, details)
        body, media_type, files = await self._body(operation, request, details)
        if details:
            documented = operation.responses
            status = 422 if "422" in documented and "400" not in documented else 400
            raise ContractError(status, "validation_error", "the request is not valid", details)
        return Call(
            operation=operation,
            path=read["path"],
            query=read["query"],
            headers=read["header"],
            cookies=read["cookie"],
            body=body,
            media_type=media_type,
            files=files,
            principal=principal,
            request=request,
        )

    def _parameters(
        self,
        operation: Operation,
        values: dict[str, str],
        request: Request,
        details: list[dict[str, Any]],
    ) -> dict[str, dict[str, Any]]:
        read: dict[str, dict[str, Any]] = {"path": {}, "query": {}, "header": {}, "cookie": {}}
        read["path"].update(values)  # path variables no parameter declares stay raw strings
        text = request.scope.get("query_string", b"").decode("utf-8", "replace")
        query = parse_qsl(text, keep_blank_values=True)
        wants_cookies = any(p.location == "cookie" for p in operation.parameters)
        cookies = _cookie_pairs(request) if wants_cookies else []
        for parameter in operation.parameters:
            if parameter.location not in read:
                continue
            if parameter.location == "header" and parameter.name.lower() in _IGNORED_HEADERS:
                continue
            at = parameter.schema or parameter.content_schema
            try:
                value = self._raw(parameter, operation, values, request, query, cookies)
            except _Unreadable as exc:
                details.append({"field": parameter.label, "message": str(exc)})
                continue
            if value is ABSENT:
                default = self.contract.default(parameter.schema)
                if parameter.required:
                    message = f"the {parameter.location} parameter {parameter.name} is required"
                    details.append({"field": parameter.label, "message": message})
                elif default is not ABSENT:
                    read[parameter.location][parameter.name] = default
                continue
            if parameter.schema:
                value = self.contract.coerce(value, parameter.schema)
            if at:
                details.extend(self._violations(at, value, parameter.label))
            read[parameter.location][parameter.name] = value
        return read

    def _raw(
        self,
        parameter: Parameter,
        operation: Operation,
        values: dict[str, str],
        request: Request,
        query: list[tuple[str, str]],
        cookies: list[tuple[str, str]],
    ) -> Any:
        """The parameter's value laid out by its style (strings in lists and dicts), or
        ``ABSENT``."""
        location, name = parameter.location, parameter.name
        shape = self.contract.shape(parameter.schema)
        if location == "path":
            raw: Any = values.get(name, ABSENT)
        elif location == "header":
            found = request.headers.getlist(name)
            if parameter.media_type is None:  # simple style: "3, 4" is "3,4"
                found = [item.strip() for value in found for item in value.split(",")]
            raw = ",".join(found) if found else ABSENT
        else:
            pairs = query if location == "query" else cookies
            if parameter.media_type is None and (
                parameter.style == "deepObject" or (shape == "object" and parameter.explode)
            ):
                return self._object_from_pairs(parameter, operation, pairs)
            found = [value for key, value in pairs if key == name]
            if not found:
                return ABSENT
            if shape == "array" and parameter.explode and parameter.media_type is None:
                return found
            raw = found[0]
        if raw is ABSENT:
            return ABSENT
        if parameter.media_type is not None:
            if not _json_media(parameter.media_type):
                return raw
            try:
                return _json(raw)
            except ValueError as exc:
                raise _Unreadable(f"is not valid JSON: {exc}") from exc
        if location == "path":
            return _path_value(raw, parameter, shape)
        if location == "header":
            return _simple(raw, shape, parameter.explode)
        return _simple(raw, shape, False, DELIMITERS.get(parameter.style, ","))

    def _object_from_pairs(
        self, parameter: Parameter, operation: Operation, pairs: list[tuple[str, str]]
    ) -> Any:
        """An exploded form object (each property its own key) or a deepObject."""
        grouped: dict[str, list[str]] = {}
        if parameter.style == "deepObject":
            prefix = parameter.name + "["
            for key, value in pairs:
                if key.startswith(prefix) and key.endswith("]"):
                    grouped.setdefault(key[len(prefix) : -1], []).append(value)
        else:
            names = self.contract.property_names(parameter.schema) if parameter.schema else []
            claimed = {p.name for p in operation.parameters if p.location == parameter.location}
            for key, value in pairs:
                if key in names or (not names and key not in claimed):
                    grouped.setdefault(key, []).append(value)
        if not grouped:
            return ABSENT
        return self._fields(grouped, parameter.schema)

    def _fields(self, grouped: dict[str, list[Any]], schema: str | None) -> dict[str, Any]:
        """Form fields (or exploded properties) by name: a list where the property is an
        array, JSON-decoded where it is an object or array written as JSON."""
        out: dict[str, Any] = {}
        for name, found in grouped.items():
            at = self.contract.property_schema(schema, name) if schema else None
            shape = self.contract.shape(at)
            first = found[0]
            opening = {"array": "[", "object": "{"}.get(shape)
            if opening and len(found) == 1 and str(first).lstrip().startswith(opening):
                try:
                    out[name] = _json(first)
                    continue
                except ValueError:
                    pass  # not JSON after all: read as text
            out[name] = found if shape == "array" or len(found) > 1 else first
        return out

    def _violations(self, at: str, value: Any, where: str) -> list[dict[str, Any]]:
        validator = self.contract.schemas.validator(at, "request")
        return [
            {
                "field": ".".join([where, *(str(p) for p in error.absolute_path)]),
                "message": _shorten(error.message),
            }
            for error in validator.iter_errors(value)
        ]

    async def _body(
        self, operation: Operation, request: Request, details: list[dict[str, Any]]
    ) -> tuple[Any, str | None, dict[str, UploadedFile]]:
        if not operation.body:
            return None, None, {}  # a body the contract does not declare is ignored
        raw = await request.body()
        if not raw:
            if operation.body_required:
                details.append({"field": "body", "message": "the request body is required"})
            return None, None, {}
        header = request.headers.get("content-type") or "application/octet-stream"
        media = _pick(operation.body, header)
        if media is None:
            expected = ", ".join(operation.body)
            message = f"the media type {_essence(header)} is not accepted; expected {expected}"
            raise ContractError(415, "unsupported_media_type", message)
        schema = operation.body[media]
        essence = _essence(header)
        files: dict[str, UploadedFile] = {}
        try:
            if _json_media(essence):
                value: Any = _json(raw)
            elif essence == "application/x-www-form-urlencoded":
                pairs = parse_qsl(raw.decode(_charset(header)), keep_blank_values=True)
                value = self._form(pairs, schema)
            elif essence == "multipart/form-data":
                value = self._form(await self._multipart(request, files), schema)
            elif essence.startswith("text/"):
                value = raw.decode(_charset(header))
            else:
                return raw, media, {}  # bytes are not validated
        except (ValueError, LookupError, MultiPartException) as exc:
            what = "JSON" if _json_media(essence) else essence
            details.append({"field": "body", "message": f"the body is not valid {what}: {exc}"})
            return None, media, files
        if schema:
            details.extend(self._violations(schema, value, "body"))
        return value, media, files

    def _form(self, pairs: list[tuple[str, Any]], schema: str) -> dict[str, Any]:
        grouped: dict[str, list[Any]] = {}
        for key, value in pairs:
            grouped.setdefault(key, []).append(value)
        fields = self._fields(grouped, schema or None)
        return self.contract.coerce(fields, schema) if schema else fields

    @staticmethod
    async def _multipart(request: Request, files: dict[str, UploadedFile]) -> list[tuple[str, Any]]:
        try:
            form = await request.form()
        except HTTPException as exc:
            if exc.status_code != 400:
                raise
            raise ValueError(exc.detail) from exc
        pairs: list[tuple[str, Any]] = []
        try:
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    name = value.filename or ""
                    kind = value.content_type or "application/octet-stream"
                    files.setdefault(key, UploadedFile(name, kind, await value.read()))
                    pairs.append((key, name))
                else:
                    pairs.append((key, value))
        finally:
            await form.close()
        return pairs

    # ----------------------------------------------------------------------------- replies

    def _write(self, operation: Operation, reply: Reply, request: Request) -> Response:
        documented = _documented(operation, reply.status)
        content = documented[1] if documented is not None else {}
        media = reply.media_type or _preferred(content) or "application/json"
        if self.validate_responses:
            problem = self._check(operation, reply, documented, media)
            if problem is not None:
                _log.error("%s", problem)
                return self.error(operation, 500, "internal_error", problem)
        silent = reply.status in (204, 304) or request.method == "HEAD" or reply.body is None
        try:
            body = b"" if silent else _encode(reply.body, media)
        except (TypeError, ValueError) as exc:
            message = f"the reply to {operation.key} cannot be written as {media}: {exc}"
            _log.error("%s", message)
            return self.error(operation, 500, "internal_error", message)
        return Response(
            body,
            status_code=reply.status,
            headers=reply.headers,
            media_type=None if silent and reply.media_type is None else media,
        )

    def _check(
        self,
        operation: Operation,
        reply: Reply,
        documented: tuple[str, dict[str, str]] | None,
        media: str,
    ) -> str | None:
        """What is wrong with ``reply`` against the contract, or None."""
        name = f"the reply {reply.status} to {operation.key}"
        if documented is None:
            return f"{name} has a status the contract does not document"
        if reply.body is None or not documented[1] or isinstance(reply.body, bytes):
            return None
        chosen = _pick(documented[1], media)
        if chosen is None:
            return f"{name} has a media type ({media}) the contract does not document"
        schema = documented[1][chosen]
        if not schema:
            return None
        validator = self.contract.schemas.validator(schema, "response")
        for error in validator.iter_errors(reply.body):
            where = ".".join(["body", *(str(p) for p in error.absolute_path)])
            return f"{name} does not conform to {schema}: {where}: {_shorten(error.message)}"
        return None

    def error(
        self,
        operation: Operation | None,
        status: int,
        code: str,
        message: str,
        details: Sequence[Mapping[str, Any]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """The one rendering of every error: the response the operation documents for
        ``status``, built from its schema's example with the message and status filled in,
        else ``http.py``'s error shape."""
        documented = _documented(operation, status) if operation is not None else None
        for media, schema in (documented[1] if documented is not None else {}).items():
            if not (schema and _json_media(media)):
                continue
            example = self.contract.example(schema)
            if example is ABSENT:
                continue
            body = self._filled(example, schema, status, message)
            return Response(_encode(body, media), status, headers=headers, media_type=media)
        shape = {
            "error": {
                "status": status,
                "code": code,
                "message": message,
                "request_id": request_id.get(),
                "details": [dict(d) for d in details],
            }
        }
        return Response(
            _encode(shape, "application/json"), status, headers, media_type="application/json"
        )

    def _filled(self, example: Any, schema: str, status: int, message: str) -> Any:
        """The example with its message-like strings set to ``message`` and its integer
        ``code``/``status`` to ``status`` (top level), when the result still validates."""
        if not isinstance(example, dict):
            return example
        node, _ = self.contract.node(schema, "response")
        declared = node.get("properties") if isinstance(node, dict) else None
        declared = declared if isinstance(declared, dict) else {}

        def says(name: str, kind: str) -> bool:
            value = example.get(name, ABSENT)
            if value is not ABSENT:
                return json_type(value) == kind
            types = declared[name].get("type") if isinstance(declared.get(name), dict) else None
            return types == kind or (isinstance(types, list) and kind in types)

        body = copy.deepcopy(example)
        for name in _ERROR_TEXT_FIELDS:
            if says(name, "string"):
                body[name] = message
        for name in ("code", "status"):
            if says(name, "integer"):
                body[name] = status
        valid = self.contract.schemas.validator(schema, "response").is_valid(body)
        return body if valid else example


def _documented(operation: Operation, status: int) -> tuple[str, dict[str, str]] | None:
    """The documented response for ``status``: the exact code, its range (``4XX``), then
    ``default``."""
    code = str(status)
    by_key = {key.upper(): key for key in operation.responses}
    for candidate in (code, f"{code[0]}XX", "DEFAULT"):
        if candidate in by_key:
            return by_key[candidate], operation.responses[by_key[candidate]]
    return None


def _pick(declared: Mapping[str, str], content_type: str) -> str | None:
    """The declared media type ``content_type`` falls under: the same one (parameters like
    charset ignored), then ``type/*``, then ``*/*``."""
    essences: dict[str, str] = {}
    for media in declared:
        essences.setdefault(_essence(media), media)
    essence = _essence(content_type)
    for candidate in (essence, essence.split("/", 1)[0] + "/*", "*/*"):
        if candidate in essences:
            return essences[candidate]
    return None


def _preferred(content: Mapping[str, str]) -> str | None:
    if not content:
        return None
    json_media = [m for m in content if _essence(m) == "application/json"]
    media = json_media[0] if json_media else next(iter(content))
    return None if "*" in media else media


def _charset(content_type: str) -> str:
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"')
    return "utf-8"


def _encode(body: Any, media: str) -> bytes:
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    if isinstance(body, str) and not _json_media(media):
        return body.encode("utf-8")
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8")


def _shorten(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------------- wiring


def contract_app(
    contract: Contract,
    handlers: Mapping[str, Handler],
    *,
    credentials: Credentials | None = None,
    validate_responses: bool = False,
) -> ContractRoute:
    """The route serving ``contract`` with ``handlers`` (by operation key); an ASGI app too.
    Add it as the application's last route: ``app.router.routes.append(route)``.
    Operations without a handler answer 501; ``credentials`` default to the environment's;
    ``validate_responses`` (for tests) turns a reply the contract does not allow into a 500."""
    return ContractRoute(
        contract, handlers, credentials=credentials, validate_responses=validate_responses
    )


def serve_document(app: FastAPI, document: dict[str, Any]) -> None:
    """``/openapi.json`` (and ``/docs``) serve ``document`` itself; FastAPI adds nothing."""

    def openapi() -> dict[str, Any]:
        return document

    app.openapi = openapi  # type: ignore[method-assign]

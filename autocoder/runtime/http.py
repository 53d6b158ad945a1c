"""HTTP building blocks of a generated FastAPI service.

- one error shape for every 4xx/5xx (``ErrorResponse``), whichever layer produced the error;
- ``install``: the exception handlers, one pure-ASGI middleware (request id, body limit,
  request timeout, metrics by route template, a JSON access log line) and CORS when asked;
- ``ApiKeys`` and ``JwtVerifier``: the configured credentials and their checks, which
  ``api_key_auth`` and ``bearer_auth`` (FastAPI dependencies that fail closed) and the
  contract runtime (``contract.py``) share;
- ``health_router``: ``/healthz``, ``/readyz`` and ``/metrics``;
- ``setup_tracing``: OpenTelemetry, switched on by the environment.
"""

from __future__ import annotations

import hmac
import importlib
import math
import os
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

import anyio
import jwt
from fastapi import APIRouter, FastAPI, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .logs import get_logger, request_id
from .metrics import Metrics

_log = get_logger(__name__)
_access_log = get_logger(f"{__name__}.access")

# ---------------------------------------------------------------------------- the error shape


class ErrorDetail(BaseModel):
    """One problem with the request: where (``loc``), what (``message``), its kind (``type``)."""

    loc: list[str | int] = Field(default_factory=list)
    message: str
    type: str = ""


class ErrorBody(BaseModel):
    status: int
    code: str
    message: str
    request_id: str | None = None
    details: list[ErrorDetail] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    """The body of every 4xx and 5xx response of the service."""

    error: ErrorBody


class ApiError(Exception):
    """Raise it from a route or a dependency to answer with ``ErrorResponse``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[ErrorDetail] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.headers = headers


# Codes that do not follow the status phrase, or whose phrase changed between Python versions.
_CODES = {
    413: "payload_too_large",
    414: "uri_too_long",
    416: "range_not_satisfiable",
    422: "unprocessable_entity",
    500: "internal_error",
}


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _code(status: int) -> str:
    """The error code of a status: its phrase in snake case (404 -> ``not_found``)."""
    if status in _CODES:
        return _CODES[status]
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        return f"http_{status}"
    return re.sub(r"[^a-z0-9]+", "_", phrase.lower()).strip("_")


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route documenting ``ErrorResponse`` for each status.

    Listing 422 replaces FastAPI's default ``HTTPValidationError`` schema in the OpenAPI."""
    return {status: {"model": ErrorResponse, "description": _phrase(status)} for status in statuses}


def _error_json(
    status: int,
    code: str,
    message: str,
    details: Sequence[ErrorDetail] = (),
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = ErrorResponse(
        error=ErrorBody(
            status=status,
            code=code,
            message=message,
            request_id=request_id.get(),
            details=list(details),
        )
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


# ------------------------------------------------------------------------- exception handlers


async def _unhandled_error(request: Request, exc: Exception) -> Response:
    _log.error(
        "unhandled error in %s %s",
        request.method,
        request.url.path,
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    return _error_json(500, "internal_error", "internal server error")


async def _api_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, ApiError):
        return await _unhandled_error(request, exc)
    return _error_json(exc.status, exc.code, exc.message, exc.details, exc.headers)


async def _validation_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, RequestValidationError):
        return await _unhandled_error(request, exc)
    details = [
        ErrorDetail(
            loc=[part if isinstance(part, int) else str(part) for part in error.get("loc", ())],
            message=str(error.get("msg", "")),
            type=str(error.get("type", "")),
        )
        for error in exc.errors()
    ]
    return _error_json(422, "validation_error", "the request is not valid", details)


async def _http_exception(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, HTTPException):
        return await _unhandled_error(request, exc)
    status = exc.status_code
    headers = dict(exc.headers) if exc.headers else None
    if status < 200 or status in (204, 304):
        return Response(status_code=status, headers=headers)
    message = exc.detail if isinstance(exc.detail, str) and exc.detail else _phrase(status)
    return _error_json(status, _code(status), message, headers=headers)


# ------------------------------------------------------------------------------ the middleware

_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


class _PayloadTooLarge(HTTPException):
    """Raised by the receive channel when the streamed body passes the limit. An
    ``HTTPException`` so that FastAPI's body parsing passes it on instead of answering 400."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _route_template(scope: Scope) -> str:
    path_format = getattr(scope.get("route"), "path_format", None)
    return path_format if isinstance(path_format, str) else "unmatched"


class _Exchange:
    """What the middleware knows about one request while it runs."""

    def __init__(self) -> None:
        self.status: int | None = None
        self.deadline: anyio.CancelScope | None = None


class _ServiceMiddleware:
    """Request id, body limit, request timeout, metrics and the access log, in one ASGI layer."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        max_body_bytes: int | None,
        request_timeout: float | None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.request_timeout = request_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        rid = incoming if incoming and _REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        token = request_id.set(rid)
        exchange = _Exchange()
        started = time.perf_counter()
        try:
            await self._handle(scope, receive, self._sender(send, rid, exchange), exchange)
        finally:
            seconds = time.perf_counter() - started
            status = exchange.status if exchange.status is not None else 500
            route = _route_template(scope)
            method = str(scope["method"])
            self.metrics.observe_request(method, route, status, seconds)
            _access_log.info(
                "%s %s %s",
                method,
                route,
                status,
                extra={
                    "fields": {
                        "method": method,
                        "route": route,
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round(seconds * 1000, 3),
                    }
                },
            )
            request_id.reset(token)

    @staticmethod
    def _sender(send: Send, rid: str, exchange: _Exchange) -> Send:
        header = (b"x-request-id", rid.encode("latin-1"))

        async def sender(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.status = int(message["status"])
                if exchange.deadline is not None:
                    # The timeout bounds the time to the first byte, not a streamed body.
                    exchange.deadline.deadline = math.inf
                headers = [
                    (key, value)
                    for key, value in message.get("headers", ())
                    if bytes(key).lower() != b"x-request-id"
                ]
                message = {**message, "headers": [*headers, header]}
            await send(message)

        return sender

    def _limit(self, receive: Receive, limit: int) -> Receive:
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _PayloadTooLarge(limit)
            return message

        return limited

    async def _handle(self, scope: Scope, receive: Receive, send: Send, ex: _Exchange) -> None:
        limit = self.max_body_bytes
        if limit is not None:
            length = _header(scope, b"content-length")
            if length is not None and length.strip().isdigit() and int(length) > limit:
                message = f"the request body is larger than {limit} bytes"
                await _error_json(413, "payload_too_large", message)(scope, receive, send)
                return
            receive = self._limit(receive, limit)
        try:
            if self.request_timeout is None:
                await self.app(scope, receive, send)
            else:
                with anyio.fail_after(self.request_timeout) as deadline:
                    ex.deadline = deadline
                    await self.app(scope, receive, send)
        except _PayloadTooLarge as exc:
            if ex.status is not None:
                raise
            await _error_json(413, "payload_too_large", str(exc.detail))(scope, receive, send)
        except Exception as exc:
            if ex.status is not None:
                raise
            if isinstance(exc, TimeoutError) and ex.deadline and ex.deadline.cancelled_caught:
                message = f"the request took longer than {self.request_timeout:g}s"
                await _error_json(504, "timeout", message)(scope, receive, send)
                return
            response = await _unhandled_error(Request(scope), exc)
            await response(scope, receive, send)
        else:
            if ex.status is None:
                _log.error("the application returned without sending a response")
                await _error_json(500, "internal_error", "internal server error")(
                    scope, receive, send
                )


def install(
    app: FastAPI,
    *,
    metrics: Metrics,
    max_body_bytes: int | None = None,
    request_timeout: float | None = None,
    allowed_origins: Sequence[str] = (),
) -> None:
    """Add the error handlers, the service middleware and (with ``allowed_origins``) CORS.

    ``request_timeout`` bounds the time until the response starts; a handler running in a
    thread cannot be interrupted, so its 504 comes when the thread returns."""
    if max_body_bytes is not None and max_body_bytes < 0:
        raise ValueError("max_body_bytes must not be negative")
    if request_timeout is not None and request_timeout <= 0:
        raise ValueError("request_timeout must be positive")
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_exception)
    app.add_exception_handler(Exception, _unhandled_error)
    app.add_middleware(
        _ServiceMiddleware,
        metrics=metrics,
        max_body_bytes=max_body_bytes,
        request_timeout=request_timeout,
    )
    if allowed_origins:
        # Outermost, so that the errors the service middleware answers carry CORS headers too.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(allowed_origins),
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["*"],
            allow_credentials=False,
            expose_headers=["X-Request-ID"],
        )


# ---------------------------------------------------------------------------- authentication


class _WatchedFile:
    """The text of a mounted file, read again when it changes (inode, mtime or size)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._stamp: tuple[int, int, int] | None = None
        self._text: str | None = None
        self._warned = False

    def read(self) -> str | None:
        try:
            stat = os.stat(self.path)
            stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
            if stamp != self._stamp:
                with open(self.path, encoding="utf-8") as file:
                    self._text = file.read()
                self._stamp = stamp
        except OSError as exc:
            if not self._warned:
                _log.warning("cannot read %s: %s", self.path, type(exc).__name__)
                self._warned = True
            self._stamp = self._text = None
            return None
        self._warned = False
        return self._text


def _unauthorized(message: str, challenge: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": challenge})


class ApiKeys:
    """The configured API keys: given ones (from an environment variable) and the file at
    ``path`` (one key per line; blank lines and ``#`` comments ignored), read again when the
    file changes. ``check`` compares in constant time; with no key nothing passes."""

    def __init__(
        self, keys: Sequence[str] = (), path: str | None = None, *, source: str = "API_KEYS"
    ) -> None:
        self._keys = [key.encode() for key in keys]
        self._file = _WatchedFile(path) if path else None
        self._source = source
        self._warned = False

    @classmethod
    def from_environment(cls, env: str = "API_KEYS", file_env: str = "API_KEYS_FILE") -> ApiKeys:
        """Keys from ``env`` (comma-separated) and the file named by ``file_env``."""
        keys = [key.strip() for key in os.environ.get(env, "").split(",") if key.strip()]
        return cls(keys, os.environ.get(file_env) or None, source=f"{env}, {file_env}")

    def keys(self) -> list[bytes]:
        """The keys now; the first call finding none logs a warning."""
        keys = list(self._keys)
        text = self._file.read() if self._file is not None else None
        for line in (text or "").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                keys.append(line.encode())
        if not keys and not self._warned:
            _log.warning("no API keys configured (%s): refusing every request", self._source)
        self._warned = not keys
        return keys

    def check(self, value: str) -> bool:
        """Whether ``value`` is one of the keys."""
        provided = value.encode()
        matched = False
        for candidate in self.keys():  # every key, so the time does not tell which came close
            matched |= hmac.compare_digest(candidate, provided)
        return matched


class TokenError(Exception):
    """A bearer token that is not accepted; the message says why."""


class JwtVerifier:
    """Verifies JWT bearer tokens: HS256 with the secret (given, or read from ``secret_path``)
    or RS256/ES256 with the PEM public key at ``public_key_path``. A token must carry ``exp``;
    ``nbf`` is checked when present; audience and issuer when configured. Files are read again
    when they change. With no secret and no public key every token is refused."""

    def __init__(
        self,
        *,
        secret: str | None = None,
        secret_path: str | None = None,
        public_key_path: str | None = None,
        audiences: Sequence[str] = (),
        issuer: str | None = None,
        source: str = "JWT_SECRET, JWT_SECRET_FILE, JWT_PUBLIC_KEY_FILE",
    ) -> None:
        self._secret = secret or None
        self._secret_file = _WatchedFile(secret_path) if secret_path else None
        self._public_file = _WatchedFile(public_key_path) if public_key_path else None
        self._audiences = list(audiences)
        self._issuer = issuer or None
        self._source = source
        self._warned = False
        if self._public_file is not None and not jwt.algorithms.has_crypto:
            _log.warning("RS256/ES256 tokens need the 'cryptography' package, which is missing")

    @classmethod
    def from_environment(
        cls,
        *,
        secret_env: str = "JWT_SECRET",  # noqa: S107 - names an environment variable
        secret_file_env: str = "JWT_SECRET_FILE",  # noqa: S107 - names an environment variable
        public_key_file_env: str = "JWT_PUBLIC_KEY_FILE",
        audience_env: str = "JWT_AUDIENCE",
        issuer_env: str = "JWT_ISSUER",
    ) -> JwtVerifier:
        """The secret, key files, audiences (comma-separated) and issuer from the environment."""
        audiences = [a.strip() for a in os.environ.get(audience_env, "").split(",") if a.strip()]
        return cls(
            secret=os.environ.get(secret_env) or None,
            secret_path=os.environ.get(secret_file_env) or None,
            public_key_path=os.environ.get(public_key_file_env) or None,
            audiences=audiences,
            issuer=os.environ.get(issuer_env) or None,
            source=f"{secret_env}, {secret_file_env}, {public_key_file_env}",
        )

    def keys(self) -> tuple[str | None, str | None]:
        """The secret and the public key now; the first call finding neither logs a warning."""
        secret = self._secret
        if secret is None and self._secret_file is not None:
            secret = (self._secret_file.read() or "").rstrip("\r\n") or None
        public_file = self._public_file
        public_key = (public_file.read() or None) if public_file is not None else None
        if secret is None and public_key is None and not self._warned:
            _log.warning(
                "no JWT secret or public key configured (%s): refusing every request", self._source
            )
        self._warned = secret is None and public_key is None
        return secret, public_key

    def configured(self) -> bool:
        return self.keys() != (None, None)

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of ``token``; ``TokenError`` when it is not accepted."""
        secret, public_key = self.keys()
        if secret is None and public_key is None:
            raise TokenError("the service has no JWT secret or public key configured")
        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
            if algorithm == "HS256" and secret is not None:
                key = secret
            elif algorithm in ("RS256", "ES256") and public_key is not None:
                key = public_key
            else:
                raise TokenError("the token's algorithm is not accepted")
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[str(algorithm)],
                audience=self._audiences or None,
                issuer=self._issuer,
                options={"require": ["exp"], "verify_aud": bool(self._audiences)},
            )
        except jwt.PyJWTError as exc:
            raise TokenError(f"invalid bearer token: {exc}") from exc
        return claims


def api_key_auth(
    header: str,
    *,
    env: str = "API_KEYS",
    file_env: str = "API_KEYS_FILE",
    scheme_name: str = "ApiKeyAuth",
) -> Callable[..., Awaitable[None]]:
    """A dependency requiring one of the configured API keys in the request header ``header``.

    Keys: the environment variable ``env`` (comma-separated) and the file named by
    ``file_env`` (one key per line; blank lines and ``#`` comments ignored), read again when
    the file changes. With no key configured every request is refused (fail closed)."""
    scheme = APIKeyHeader(name=header, scheme_name=scheme_name, auto_error=False)
    api_keys = ApiKeys.from_environment(env, file_env)
    challenge = f'ApiKey header="{header}"'
    api_keys.keys()  # warn at startup when there is none

    from_header = Security(scheme)

    async def authenticate(key: str | None = from_header) -> None:
        if not api_keys.keys():
            raise _unauthorized("the service has no API keys configured", challenge)
        if not key:
            raise _unauthorized(f"missing API key in header {header}", challenge)
        if not api_keys.check(key):
            raise _unauthorized("invalid API key", challenge)

    return authenticate


def bearer_auth(
    *,
    secret_env: str = "JWT_SECRET",  # noqa: S107 - names an environment variable
    secret_file_env: str = "JWT_SECRET_FILE",  # noqa: S107 - names an environment variable
    public_key_file_env: str = "JWT_PUBLIC_KEY_FILE",
    audience_env: str = "JWT_AUDIENCE",
    issuer_env: str = "JWT_ISSUER",
    scheme_name: str = "BearerAuth",
) -> Callable[..., Awaitable[dict[str, Any]]]:
    """A dependency requiring a valid JWT bearer token; it returns the token's claims.

    HS256 with the secret (``secret_env`` or the file named by ``secret_file_env``), or
    RS256/ES256 with the PEM public key in the file named by ``public_key_file_env``. The
    token must carry ``exp``; ``nbf`` is checked when present; audience (comma-separated) and
    issuer when configured. With no secret and no public key every request is refused."""
    scheme = HTTPBearer(scheme_name=scheme_name, bearerFormat="JWT", auto_error=False)
    verifier = JwtVerifier.from_environment(
        secret_env=secret_env,
        secret_file_env=secret_file_env,
        public_key_file_env=public_key_file_env,
        audience_env=audience_env,
        issuer_env=issuer_env,
    )
    verifier.keys()  # warn at startup when there is none

    from_header = Security(scheme)

    async def authenticate(
        credentials: HTTPAuthorizationCredentials | None = from_header,
    ) -> dict[str, Any]:
        if not verifier.configured():
            raise _unauthorized("the service has no JWT secret or public key configured", "Bearer")
        if credentials is None:
            raise _unauthorized("missing bearer token", "Bearer")
        try:
            return verifier.verify(credentials.credentials)
        except TokenError as exc:
            raise _unauthorized(str(exc), 'Bearer error="invalid_token"') from exc

    return authenticate


# ------------------------------------------------------------------------------------ health


def health_router(
    checks: Mapping[str, Callable[[], Awaitable[None]]],
    metrics: Metrics,
    *,
    check_timeout: float = 2.0,
    liveness: str = "/healthz",
    readiness: str = "/readyz",
    metrics_path: str = "/metrics",
) -> APIRouter:
    """``/healthz`` (liveness), ``/readyz`` (runs ``checks`` concurrently, each within
    ``check_timeout`` seconds) and ``/metrics``; none of them in the OpenAPI. A service whose
    contract defines one of these paths serves its own endpoint at another path."""
    router = APIRouter()

    @router.get(liveness, include_in_schema=False)
    async def healthz() -> Response:
        return JSONResponse({"status": "ok"})

    @router.get(readiness, include_in_schema=False)
    async def readyz() -> Response:
        failures: dict[str, str] = {}

        async def run(name: str, check: Callable[[], Awaitable[None]]) -> None:
            try:
                with anyio.fail_after(check_timeout):
                    await check()
            except TimeoutError:
                failures[name] = f"TimeoutError: no answer within {check_timeout:g}s"
                _log.warning("readiness check %s timed out", name)
            except Exception as exc:
                failures[name] = type(exc).__name__
                _log.warning("readiness check %s failed", name, exc_info=exc)

        async with anyio.create_task_group() as group:
            for name, check in checks.items():
                group.start_soon(run, name, check)
        if failures:
            details = [
                ErrorDetail(loc=["checks", name], message=failures[name], type="check_failed")
                for name in sorted(failures)
            ]
            message = "not ready: " + ", ".join(sorted(failures))
            return _error_json(503, "not_ready", message, details)
        return JSONResponse({"status": "ready", "checks": dict.fromkeys(checks, "ok")})

    @router.get(metrics_path, include_in_schema=False)
    async def prometheus() -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    return router


# ----------------------------------------------------------------------------------- tracing

_OTEL_PACKAGES = (
    ("opentelemetry.trace", "opentelemetry-api"),
    ("opentelemetry.sdk.resources", "opentelemetry-sdk"),
    ("opentelemetry.sdk.trace", "opentelemetry-sdk"),
    ("opentelemetry.sdk.trace.export", "opentelemetry-sdk"),
    ("opentelemetry.instrumentation.fastapi", "opentelemetry-instrumentation-fastapi"),
)


def setup_tracing(
    app: FastAPI, service: str, *, excluded: Sequence[str] = ("/healthz", "/readyz", "/metrics")
) -> bool:
    """Instrument ``app`` with OpenTelemetry (OTLP export) when OTEL_EXPORTER_OTLP_ENDPOINT is
    set or AUTOCODER_TRACING=1; True when instrumented (requests to ``excluded`` paths make no
    spans). Missing packages: a warning, False."""
    if not (
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("AUTOCODER_TRACING") == "1"
    ):
        return False
    kind = (
        "grpc" if os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "").startswith("grpc") else "http"
    )
    exporter_module = f"opentelemetry.exporter.otlp.proto.{kind}.trace_exporter"
    packages = (*_OTEL_PACKAGES, (exporter_module, f"opentelemetry-exporter-otlp-proto-{kind}"))
    modules: dict[str, Any] = {}
    for module, distribution in packages:
        try:
            modules[module] = importlib.import_module(module)
        except ImportError:
            _log.warning(
                "tracing is switched on but %s is not installed; install it with "
                "pip install '.[otel]'",
                distribution,
            )
            return False
    sdk_trace = modules["opentelemetry.sdk.trace"]
    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": service}
    resource = modules["opentelemetry.sdk.resources"].Resource.create(attributes)
    provider = sdk_trace.TracerProvider(resource=resource)
    exporter = modules[exporter_module].OTLPSpanExporter()
    provider.add_span_processor(
        modules["opentelemetry.sdk.trace.export"].BatchSpanProcessor(exporter)
    )
    modules["opentelemetry.trace"].set_tracer_provider(provider)
    modules["opentelemetry.instrumentation.fastapi"].FastAPIInstrumentor.instrument_app(
        app, tracer_provider=provider, excluded_urls=",".join(excluded)
    )
    return True

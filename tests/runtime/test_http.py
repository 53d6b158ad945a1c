"""The HTTP layer of generated services: the error shape, the service middleware (request id,
body limit, timeout, metrics by route template), authentication, health and tracing."""

from __future__ import annotations

import logging
import os
import sys
import time
import types
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import jwt
import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from autocoder.runtime.http import (
    ApiError,
    ErrorDetail,
    ErrorResponse,
    api_key_auth,
    bearer_auth,
    error_responses,
    health_router,
    install,
    setup_tracing,
)
from autocoder.runtime.metrics import Metrics

pytestmark = pytest.mark.anyio

SECRET = "a-test-secret-that-is-long-enough-for-hs256"


class Item(BaseModel):
    name: str
    quantity: int


def make_app(**options: Any) -> tuple[FastAPI, Metrics]:
    metrics = Metrics("test")
    app = FastAPI()
    install(app, metrics=metrics, **options)

    @app.get("/v1/items/{id}", responses=error_responses(404))
    async def get_item(id: int) -> dict[str, int]:
        if id == 0:
            raise ApiError(
                404,
                "item_not_found",
                "no item 0",
                details=[ErrorDetail(loc=["path", "id"], message="unknown id", type="missing")],
            )
        return {"id": id}

    @app.post("/v1/items")
    async def create_item(item: Item) -> Item:
        return item

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("password=hunter2")

    @app.get("/slow")
    async def slow() -> dict[str, str]:
        await anyio.sleep(1)
        return {"status": "late"}

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def body() -> AsyncIterator[bytes]:
            yield b"a"
            await anyio.sleep(0.1)
            yield b"b"

        return StreamingResponse(body())

    return app, metrics


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    ErrorResponse.model_validate(body)
    assert body["error"]["status"] == response.status_code
    assert body["error"]["request_id"] == response.headers["x-request-id"]
    error: dict[str, Any] = body["error"]
    return error


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


# ------------------------------------------------------------------------------ error shape


async def test_unknown_path_is_a_404_in_the_error_shape() -> None:
    app, _ = make_app()
    async with client(app) as c:
        response = await c.get("/nowhere")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


async def test_wrong_method_is_a_405_keeping_the_allow_header() -> None:
    app, _ = make_app()
    async with client(app) as c:
        response = await c.delete("/v1/items/1")
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert "GET" in response.headers["allow"]


async def test_validation_errors_are_a_422_with_details() -> None:
    app, _ = make_app()
    async with client(app) as c:
        path_error = await c.get("/v1/items/abc")
        body_error = await c.post("/v1/items", json={"name": "x"})
    error = error_of(path_error)
    assert path_error.status_code == 422 and error["code"] == "validation_error"
    assert error["details"][0]["loc"] == ["path", "id"] and error["details"][0]["type"]
    details = error_of(body_error)["details"]
    assert [d["loc"] for d in details] == [["body", "quantity"]]
    assert details[0]["message"]


async def test_api_error_keeps_its_status_code_and_details() -> None:
    app, _ = make_app()
    async with client(app) as c:
        response = await c.get("/v1/items/0")
    error = error_of(response)
    assert response.status_code == 404
    assert error["code"] == "item_not_found" and error["message"] == "no item 0"
    assert error["details"] == [{"loc": ["path", "id"], "message": "unknown id", "type": "missing"}]


async def test_unhandled_error_is_a_500_that_leaks_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app, _ = make_app()
    with caplog.at_level(logging.ERROR):
        async with client(app) as c:
            response = await c.get("/boom")
    assert response.status_code == 500
    assert error_of(response)["code"] == "internal_error"
    assert "hunter2" not in response.text and "RuntimeError" not in response.text
    logged = [r for r in caplog.records if r.exc_info]
    assert logged and logged[0].exc_info is not None and logged[0].exc_info[0] is RuntimeError


def test_error_responses_document_the_error_shape() -> None:
    app, _ = make_app()
    schema = app.openapi()
    documented = schema["paths"]["/v1/items/{id}"]["get"]["responses"]["404"]
    assert documented["description"] == "Not Found"
    assert documented["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")
    assert "ErrorResponse" in schema["components"]["schemas"]
    assert set(error_responses(401, 503)) == {401, 503}


# ------------------------------------------------------------------------------- request id


async def test_a_sane_incoming_request_id_is_echoed() -> None:
    app, _ = make_app()
    async with client(app) as c:
        response = await c.get("/v1/items/0", headers={"X-Request-ID": "abc-123.X_y"})
    assert response.headers["x-request-id"] == "abc-123.X_y"
    assert response.json()["error"]["request_id"] == "abc-123.X_y"


async def test_a_request_id_is_made_when_missing_or_invalid() -> None:
    app, _ = make_app()
    async with client(app) as c:
        missing = await c.get("/v1/items/1")
        invalid = await c.get("/v1/items/1", headers={"X-Request-ID": "bad id; drop table"})
        too_long = await c.get("/v1/items/1", headers={"X-Request-ID": "a" * 129})
    ids = [r.headers["x-request-id"] for r in (missing, invalid, too_long)]
    for rid in ids:
        assert len(rid) == 32 and int(rid, 16) >= 0
    assert len(set(ids)) == 3


# ------------------------------------------------------------------------------- body limit


async def test_a_body_larger_than_content_length_allows_is_refused_unread() -> None:
    app, _ = make_app(max_body_bytes=10)
    async with client(app) as c:
        small = await c.post("/echo", content=b"x" * 10)
        large = await c.post("/echo", content=b"x" * 11)
    assert small.status_code == 200 and small.json() == {"size": 10}
    assert large.status_code == 413
    assert error_of(large)["code"] == "payload_too_large"


async def test_a_streamed_body_without_content_length_is_cut_at_the_limit() -> None:
    app, _ = make_app(max_body_bytes=10)
    async with client(app) as c:
        small = await c.post("/echo", content=chunks(b"12345", b"12345"))
        large = await c.post("/echo", content=chunks(b"12345", b"12345", b"1"))
        parsed = await c.post(
            "/v1/items",
            content=chunks(b'{"name": "a long name",', b' "quantity": 1}'),
            headers={"Content-Type": "application/json"},
        )
    assert "content-length" not in large.request.headers
    assert small.status_code == 200 and small.json() == {"size": 10}
    assert large.status_code == 413 and error_of(large)["code"] == "payload_too_large"
    assert parsed.status_code == 413 and error_of(parsed)["code"] == "payload_too_large"


# ---------------------------------------------------------------------------------- timeout


async def test_a_request_taking_too_long_is_a_504() -> None:
    app, _ = make_app(request_timeout=0.01)
    async with client(app) as c:
        response = await c.get("/slow")
        fast = await c.get("/v1/items/1")
    assert response.status_code == 504
    assert error_of(response)["code"] == "timeout"
    assert fast.status_code == 200


async def test_the_timeout_does_not_cut_a_response_already_started() -> None:
    app, _ = make_app(request_timeout=0.01)
    async with client(app) as c:
        response = await c.get("/stream")
    assert response.status_code == 200 and response.content == b"ab"


# ---------------------------------------------------------------------------------- metrics


async def test_metrics_are_labelled_by_route_template() -> None:
    app, metrics = make_app()
    async with client(app) as c:
        await c.get("/v1/items/123")
        await c.get("/v1/items/456")
        await c.get("/nowhere/789")
    sample = metrics.registry.get_sample_value
    labels = {"method": "GET", "route": "/v1/items/{id}", "status": "200"}
    assert sample("http_requests_total", labels) == 2
    assert (
        sample("http_request_duration_seconds_count", {"method": "GET", "route": labels["route"]})
        == 2
    )
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    assert sample("http_requests_total", unmatched) == 1
    text = metrics.render()[0].decode()
    assert "/v1/items/123" not in text and "/nowhere/789" not in text


async def test_errors_answered_by_the_middleware_are_counted() -> None:
    app, metrics = make_app(max_body_bytes=1)
    async with client(app) as c:
        await c.post("/echo", content=b"xx")
        await c.get("/boom")
    sample = metrics.registry.get_sample_value
    assert (
        sample("http_requests_total", {"method": "POST", "route": "unmatched", "status": "413"})
        == 1
    )
    assert sample("http_requests_total", {"method": "GET", "route": "/boom", "status": "500"}) == 1


# ----------------------------------------------------------------------------------- health


def health_app(checks: dict[str, Any], check_timeout: float = 2.0) -> FastAPI:
    app, metrics = make_app()
    app.include_router(health_router(checks, metrics, check_timeout=check_timeout))
    return app


async def test_healthz_and_readyz_when_every_check_passes() -> None:
    calls: list[str] = []

    async def database() -> None:
        calls.append("database")

    app = health_app({"database": database})
    async with client(app) as c:
        live = await c.get("/healthz")
        ready = await c.get("/readyz")
        metrics = await c.get("/metrics")
    assert live.status_code == 200 and live.json() == {"status": "ok"}
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok"}}
    assert calls == ["database"]
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    assert 'route="/readyz"' in metrics.text
    assert "/healthz" not in app.openapi()["paths"]


async def test_readyz_names_failing_and_slow_checks_without_their_messages() -> None:
    async def database() -> None:
        raise ConnectionRefusedError("postgres://admin:hunter2@db")

    async def broker() -> None:
        await anyio.sleep(1)

    async def cache() -> None:
        return None

    app = health_app({"database": database, "broker": broker, "cache": cache}, check_timeout=0.01)
    async with client(app) as c:
        response = await c.get("/readyz")
    error = error_of(response)
    assert response.status_code == 503 and error["code"] == "not_ready"
    failing = {tuple(d["loc"]): d["message"] for d in error["details"]}
    assert failing[("checks", "database")] == "ConnectionRefusedError"
    assert failing[("checks", "broker")].startswith("TimeoutError")
    assert ("checks", "cache") not in failing
    assert "hunter2" not in response.text


# ---------------------------------------------------------------------------------- api key


def api_key_app() -> FastAPI:
    app, _ = make_app()
    auth = api_key_auth("X-API-Key")

    @app.get("/private", dependencies=[Depends(auth)])
    async def private() -> dict[str, bool]:
        return {"ok": True}

    return app


def no_auth_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "API_KEYS",
        "API_KEYS_FILE",
        "JWT_SECRET",
        "JWT_SECRET_FILE",
        "JWT_PUBLIC_KEY_FILE",
        "JWT_AUDIENCE",
        "JWT_ISSUER",
    ):
        monkeypatch.delenv(name, raising=False)


async def test_api_keys_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    no_auth_env(monkeypatch)
    monkeypatch.setenv("API_KEYS", "first-key, second-key")
    app = api_key_app()
    async with client(app) as c:
        missing = await c.get("/private")
        wrong = await c.get("/private", headers={"X-API-Key": "first-ke"})
        first = await c.get("/private", headers={"X-API-Key": "first-key"})
        second = await c.get("/private", headers={"X-API-Key": "second-key"})
    for refused in (missing, wrong):
        assert refused.status_code == 401 and error_of(refused)["code"] == "unauthorized"
        assert "X-API-Key" in refused.headers["www-authenticate"]
    assert first.status_code == 200 and second.status_code == 200


async def test_api_keys_from_a_file_are_reread_when_it_changes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    no_auth_env(monkeypatch)
    keys = tmp_path / "keys"
    keys.write_text("# rotated monthly\n\nfile-key\n  other-key  \n", encoding="utf-8")
    monkeypatch.setenv("API_KEYS_FILE", str(keys))
    app = api_key_app()
    async with client(app) as c:
        before = [
            (await c.get("/private", headers={"X-API-Key": key})).status_code
            for key in ("file-key", "other-key", "# rotated monthly", "new-key")
        ]
        keys.write_text("new-key\n", encoding="utf-8")
        stat = keys.stat()
        os.utime(keys, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        after = [
            (await c.get("/private", headers={"X-API-Key": key})).status_code
            for key in ("file-key", "new-key")
        ]
    assert before == [200, 200, 401, 401]
    assert after == [401, 200]


async def test_api_key_auth_fails_closed_without_keys(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    no_auth_env(monkeypatch)
    with caplog.at_level(logging.WARNING):
        app = api_key_app()
        async with client(app) as c:
            responses = [await c.get("/private", headers={"X-API-Key": k}) for k in ("", "x")]
    for response in responses:
        assert response.status_code == 401
        assert "no API keys configured" in error_of(response)["message"]
    assert len([r for r in caplog.records if "no API keys" in r.getMessage()]) == 1


def test_the_openapi_shows_the_security_schemes(monkeypatch: pytest.MonkeyPatch) -> None:
    no_auth_env(monkeypatch)
    app = api_key_app()

    bearer = Depends(bearer_auth())

    @app.get("/claims")
    async def claims(claims: dict[str, Any] = bearer) -> dict[str, Any]:
        return claims

    schema = app.openapi()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["ApiKeyAuth"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert schemes["BearerAuth"] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    assert schema["paths"]["/private"]["get"]["security"] == [{"ApiKeyAuth": []}]
    assert schema["paths"]["/claims"]["get"]["security"] == [{"BearerAuth": []}]


# ----------------------------------------------------------------------------------- bearer


def bearer_app() -> FastAPI:
    app, _ = make_app()
    auth = bearer_auth()

    claims_of_the_caller = Depends(auth)

    @app.get("/me")
    async def me(claims: dict[str, Any] = claims_of_the_caller) -> dict[str, Any]:
        return {"sub": claims["sub"]}

    return app


def token(key: str = SECRET, **claims: Any) -> str:
    payload = {"sub": "user-1", "exp": int(time.time()) + 300, **claims}
    return jwt.encode(payload, key, algorithm="HS256")


async def get_me(app: FastAPI, bearer: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer is not None else {}
    async with client(app) as c:
        return await c.get("/me", headers=headers)


async def test_a_valid_hs256_token_gives_its_claims(monkeypatch: pytest.MonkeyPatch) -> None:
    no_auth_env(monkeypatch)
    monkeypatch.setenv("JWT_SECRET", SECRET)
    monkeypatch.setenv("JWT_AUDIENCE", "todo-api")
    monkeypatch.setenv("JWT_ISSUER", "https://issuer.example")
    app = bearer_app()
    good = token(aud="todo-api", iss="https://issuer.example")
    response = await get_me(app, good)
    assert response.status_code == 200 and response.json() == {"sub": "user-1"}


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(token(exp=int(time.time()) - 300, aud="todo-api"), id="expired"),
        pytest.param(token(aud="another-api"), id="wrong-audience"),
        pytest.param(token(key="another-secret-that-is-long-enough-too", aud="todo-api"), id="sig"),
        pytest.param(jwt.encode({"sub": "u", "aud": "todo-api"}, SECRET, "HS256"), id="no-exp"),
        pytest.param(jwt.encode({"sub": "u", "aud": "todo-api"}, None, "none"), id="alg-none"),
        pytest.param("not-a-jwt", id="garbage"),
        pytest.param(None, id="missing"),
    ],
)
async def test_invalid_bearer_tokens_are_refused(
    monkeypatch: pytest.MonkeyPatch, bad: str | None
) -> None:
    no_auth_env(monkeypatch)
    monkeypatch.setenv("JWT_SECRET", SECRET)
    monkeypatch.setenv("JWT_AUDIENCE", "todo-api")
    response = await get_me(bearer_app(), bad)
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_the_jwt_secret_can_come_from_a_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    no_auth_env(monkeypatch)
    secret = tmp_path / "jwt-secret"
    secret.write_text(SECRET + "\n", encoding="utf-8")
    monkeypatch.setenv("JWT_SECRET_FILE", str(secret))
    response = await get_me(bearer_app(), token())
    assert response.status_code == 200


async def test_bearer_auth_fails_closed_without_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    no_auth_env(monkeypatch)
    response = await get_me(bearer_app(), token())
    assert response.status_code == 401
    assert "no JWT secret" in error_of(response)["message"]


# ------------------------------------------------------------------------------------- CORS


async def test_cors_preflight_allows_only_the_configured_origins() -> None:
    app, _ = make_app(allowed_origins=["https://app.example"])
    preflight = {"Access-Control-Request-Method": "POST"}
    async with client(app) as c:
        allowed = await c.options(
            "/v1/items", headers={"Origin": "https://app.example", **preflight}
        )
        other = await c.options(
            "/v1/items", headers={"Origin": "https://evil.example", **preflight}
        )
        simple = await c.get("/v1/items/1", headers={"Origin": "https://app.example"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert "POST" in allowed.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in allowed.headers
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers
    assert simple.headers["access-control-allow-origin"] == "https://app.example"
    assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()


async def test_no_cors_headers_without_allowed_origins() -> None:
    app, _ = make_app()
    async with client(app) as c:
        response = await c.get("/v1/items/1", headers={"Origin": "https://app.example"})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


# ---------------------------------------------------------------------------------- tracing


def test_tracing_is_off_without_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("AUTOCODER_TRACING", raising=False)
    assert setup_tracing(FastAPI(), "svc") is False


def test_tracing_names_the_missing_package(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("AUTOCODER_TRACING", "1")
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk", None)
    with caplog.at_level(logging.WARNING):
        assert setup_tracing(FastAPI(), "svc") is False
    message = " ".join(r.getMessage() for r in caplog.records)
    assert "opentelemetry-sdk" in message and "pip install '.[otel]'" in message


def test_tracing_instruments_the_app_when_the_packages_are_there(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_PROTOCOL", raising=False)
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    seen: dict[str, Any] = {}

    class Provider:
        def __init__(self, resource: Any) -> None:
            seen["resource"] = resource

        def add_span_processor(self, processor: Any) -> None:
            seen["processor"] = processor

    class Instrumentor:
        @staticmethod
        def instrument_app(app: FastAPI, **options: Any) -> None:
            seen["app"] = app

    fakes: dict[str, dict[str, Any]] = {
        "opentelemetry.trace": {"set_tracer_provider": lambda p: seen.setdefault("global", p)},
        "opentelemetry.sdk.resources": {
            "Resource": types.SimpleNamespace(create=lambda attributes: attributes)
        },
        "opentelemetry.sdk.trace": {"TracerProvider": Provider},
        "opentelemetry.sdk.trace.export": {
            "BatchSpanProcessor": lambda exporter: ("batch", exporter)
        },
        "opentelemetry.instrumentation.fastapi": {"FastAPIInstrumentor": Instrumentor},
        "opentelemetry.exporter.otlp.proto.http.trace_exporter": {
            "OTLPSpanExporter": lambda: "otlp"
        },
    }
    for name, attributes in fakes.items():
        module = types.ModuleType(name)
        module.__dict__.update(attributes)
        monkeypatch.setitem(sys.modules, name, module)
    app = FastAPI()
    assert setup_tracing(app, "todo") is True
    assert seen["app"] is app and seen["resource"] == {"service.name": "todo"}
    assert seen["processor"] == ("batch", "otlp")

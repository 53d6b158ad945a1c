"""Prometheus metrics (own registry, message counters usable by apply_capabilities) and JSON
log lines (one object per record, request id, extra fields, idempotent setup)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from autocoder.runtime.capabilities import apply_capabilities
from autocoder.runtime.http import install
from autocoder.runtime.logs import JsonHandler, configure_logging, get_logger, request_id
from autocoder.runtime.metrics import Metrics

# ---------------------------------------------------------------------------------- metrics


def test_each_metrics_has_its_own_registry() -> None:
    first, second = Metrics("a"), Metrics("b")
    first.observe_request("GET", "/v1/items/{id}", 200, 0.02)
    labels = {"method": "GET", "route": "/v1/items/{id}", "status": "200"}
    assert first.registry.get_sample_value("http_requests_total", labels) == 1
    assert second.registry.get_sample_value("http_requests_total", labels) is None
    assert second.registry.get_sample_value("service_info", {"service": "b"}) == 1


def test_channel_backlog_is_read_at_each_scrape() -> None:
    metrics = Metrics("svc")
    waiting = [3]
    metrics.watch_channel("binding:a.out->b.in", lambda: waiting[0])
    labels = {"binding": "binding:a.out->b.in"}
    assert metrics.registry.get_sample_value("channel_backlog", labels) == 3
    waiting[0] = 0
    assert metrics.registry.get_sample_value("channel_backlog", labels) == 0


def test_request_durations_fall_into_buckets_from_5ms_to_10s() -> None:
    metrics = Metrics("svc")
    metrics.observe_request("POST", "/v1/items", 201, 0.004)
    metrics.observe_request("POST", "/v1/items", 201, 3.0)
    sample = metrics.registry.get_sample_value
    labels = {"method": "POST", "route": "/v1/items"}
    assert sample("http_request_duration_seconds_bucket", {**labels, "le": "0.005"}) == 1
    assert sample("http_request_duration_seconds_bucket", {**labels, "le": "10.0"}) == 2
    assert sample("http_request_duration_seconds_sum", labels) == pytest.approx(3.004)


@pytest.mark.anyio
async def test_observer_counts_what_apply_capabilities_reports() -> None:
    metrics = Metrics("svc")
    now = [0.0]

    def clock() -> float:
        return now[0]

    async def step(message: int) -> int:
        now[0] += 0.25
        if message < 0:
            raise ValueError("negative")
        return message

    wrapped = apply_capabilities(step, observe=metrics.observer("double"), clock=clock)
    assert await wrapped(1) == 1
    with pytest.raises(ValueError):
        await wrapped(-1)
    sample = metrics.registry.get_sample_value
    ok = {"component": "double", "port": "in", "outcome": "ok"}
    assert sample("messages_total", ok) == 1
    assert sample("messages_total", {**ok, "outcome": "error"}) == 1
    assert sample("message_duration_seconds_count", {"component": "double"}) == 2
    assert sample("message_duration_seconds_sum", {"component": "double"}) == pytest.approx(0.5)


def test_message_and_dead_letter_counters_render_as_prometheus_text() -> None:
    metrics = Metrics("svc")
    metrics.count_message("router", "out", "ok")
    metrics.count_message("router", "out")
    metrics.count_dead_letter("router")
    body, content_type = metrics.render()
    text = body.decode()
    assert content_type.startswith("text/plain")
    assert 'messages_total{component="router",outcome="ok",port="out"} 2.0' in text
    assert 'dead_letters_total{component="router"} 1.0' in text


# ------------------------------------------------------------------------------------- logs


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.usefixtures("restore_logging")
def test_log_records_are_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", "todo")
    log = get_logger("todo.worker")
    log.debug("not shown")
    log.info("saved %s", "item", extra={"fields": {"item_id": 7, "service": "spoofed"}})
    try:
        raise KeyError("missing")
    except KeyError:
        log.exception("failed")
    first, second = json_lines(capsys.readouterr().out)
    assert first["message"] == "saved item" and first["level"] == "INFO"
    assert first["logger"] == "todo.worker" and first["service"] == "todo"
    assert first["item_id"] == 7 and first["time"].endswith("Z")
    assert "request_id" not in first and "exception" not in first
    assert second["level"] == "ERROR" and "KeyError: 'missing'" in second["exception"]


@pytest.mark.usefixtures("restore_logging")
def test_configure_logging_twice_keeps_one_handler(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "first")
    configure_logging("WARNING", "second")
    assert sum(isinstance(h, JsonHandler) for h in logging.getLogger().handlers) == 1
    log = get_logger("todo")
    log.info("dropped")
    log.warning("kept")
    lines = json_lines(capsys.readouterr().out)
    assert [(line["message"], line["service"]) for line in lines] == [("kept", "second")]


@pytest.mark.usefixtures("restore_logging")
def test_the_request_id_is_in_every_line_logged_during_the_request(
    capsys: pytest.CaptureFixture[str],
) -> None:
    token = request_id.set("outside-request")
    try:
        configure_logging("INFO", "todo")
        get_logger("todo").info("with id")
    finally:
        request_id.reset(token)
    (line,) = json_lines(capsys.readouterr().out)
    assert line["request_id"] == "outside-request"


@pytest.mark.anyio
@pytest.mark.usefixtures("restore_logging")
async def test_each_request_writes_one_access_line_with_its_request_id(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", "todo")
    app = FastAPI()
    install(app, metrics=Metrics("todo"))

    @app.get("/v1/todos/{id}")
    async def read(id: int) -> dict[str, int]:
        get_logger("todo.handler").info("reading", extra={"fields": {"todo": id}})
        return {"id": id}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        response = await c.get("/v1/todos/5", headers={"X-Request-ID": "req-42"})
    assert response.status_code == 200
    lines = json_lines(capsys.readouterr().out)
    handler_line = next(line for line in lines if line["logger"] == "todo.handler")
    assert handler_line["request_id"] == "req-42" and handler_line["todo"] == 5
    (access,) = [line for line in lines if line["logger"].endswith(".access")]
    assert access["request_id"] == "req-42"
    assert access["method"] == "GET" and access["route"] == "/v1/todos/{id}"
    assert access["status"] == 200 and access["duration_ms"] >= 0
    assert request_id.get() is None

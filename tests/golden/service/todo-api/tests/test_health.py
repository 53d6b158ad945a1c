"""Health, readiness, metrics and the error shape. Generated; do not edit: regenerate."""

from __future__ import annotations

from fastapi.testclient import TestClient

from .conftest import assert_error


def test_liveness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readiness_checks_the_database(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"database": "ok"}


def test_metrics_are_exposed_in_the_prometheus_format(client: TestClient) -> None:
    client.get("/healthz")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert "http_requests_total" in response.text


def test_unknown_paths_answer_in_the_error_shape(client: TestClient) -> None:
    assert assert_error(client.get("/no/such/path"), 404)["code"] == "not_found"


def test_request_ids_are_echoed(client: TestClient) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"

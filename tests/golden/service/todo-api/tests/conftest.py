"""Fixtures of the generated suite: each test gets a fresh app on an empty database.

SQLite in a temporary directory by default; set DATABASE_URL (for example
postgresql://postgres@127.0.0.1:5432/test) to run the same suite on PostgreSQL.
Generated; do not edit: regenerate.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

os.environ.setdefault("API_KEYS", "test-key")  # read when the routes are imported
os.environ.setdefault("JWT_SECRET", "test-secret-test-secret-test-secret")

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app import tables
from app.main import create_app
from app.runtime.store import database_urls
from app.settings import load_settings

AUTH_HEADERS = {"X-API-Key": "test-key"}


class Webhooks:
    """Stands in for every HTTP peer: records requests and answers 200 with an empty list."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200, json=[])


@pytest.fixture
def webhooks() -> Webhooks:
    return Webhooks()


@pytest.fixture
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db')}/test.db"


def _empty_tables(url: str) -> None:
    engine = sa.create_engine(database_urls(url)[0])
    with engine.begin() as connection:
        for table in reversed(tables.metadata.sorted_tables):
            connection.execute(table.delete())
    engine.dispose()


@pytest.fixture
def app(database_url: str, webhooks: Webhooks, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("LOG_LEVEL", "warning")
    return create_app(
        load_settings(),
        http=httpx.AsyncClient(transport=httpx.MockTransport(webhooks)),
    )


@pytest.fixture
def client(app: FastAPI, database_url: str) -> Iterator[TestClient]:
    with TestClient(app, headers=AUTH_HEADERS) as client:  # runs the migrations and the dataflow
        _empty_tables(database_url)
        yield client


def assert_error(response: httpx.Response, status: int) -> dict[str, object]:
    """Every error has the one documented shape."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert error["status"] == status
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str)
    assert error["request_id"] == response.headers["x-request-id"]
    return error

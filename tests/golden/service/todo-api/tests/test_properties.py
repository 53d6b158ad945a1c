"""Property tests derived from the port and request types (hypothesis): any valid value is
handled without a server error, and declarative steps keep their contracts.
Generated; do not edit: regenerate."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from app import models
from app.settings import load_settings

from . import strategies

CONFIG = load_settings().components
EXAMPLES = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class Collect:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    async def __call__(self, port: str, message: dict[str, Any]) -> None:
        self.sent.append((port, message))


@EXAMPLES
@given(body=strategies.todo_create())
def test_create_todo_accepts_every_valid_body(client: TestClient, body: dict[str, Any]) -> None:
    response = client.post("/v1/todos", json=body)
    assert response.status_code in (201, 409), response.text
    if response.status_code == 201:
        created = models.Todo.model_validate(response.json())
        sent = models.TodoCreate.model_validate(body).model_dump(exclude_unset=True)
        for field, value in sent.items():
            assert getattr(created, field) == value, field

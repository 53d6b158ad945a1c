"""Helpers shared by tests (importable: pytest puts tests/ on sys.path)."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import pytest


def require_service(host: str, port: int, name: str) -> None:
    """Skip when a local service is missing, unless AUTOCODER_REQUIRE_SERVICES=1 (CI)."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return
    except OSError as exc:
        message = f"{name} is not reachable on {host}:{port} ({exc})"
        if os.environ.get("AUTOCODER_REQUIRE_SERVICES") == "1":
            pytest.fail(message + "; AUTOCODER_REQUIRE_SERVICES=1 forbids skipping")
        pytest.skip(message)


def require_tool(name: str, found: bool, why: str) -> None:
    """Skip when a tool is missing, unless AUTOCODER_REQUIRE_TOOLS=1 (then fail)."""
    if found:
        return
    message = f"{name} is not available: {why}"
    if os.environ.get("AUTOCODER_REQUIRE_TOOLS") == "1":
        pytest.fail(message + "; AUTOCODER_REQUIRE_TOOLS=1 forbids skipping")
    pytest.skip(message)


def document_paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path (tuple of keys and indexes) into a JSON-like document, the root first."""
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += document_paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += document_paths(value, (*prefix, index))
    return out


# The OpenAPI documents of tests/frontend/openapi/specs/ that are valid OpenAPI 3.x.
OPENAPI_SPECS = Path(__file__).resolve().parent / "frontend" / "openapi" / "specs"
VALID_OPENAPI_SPECS = (
    "petstore-crud.yaml",
    "bookstore-31.json",
    "nasty-identifiers.yaml",
    "regex-dialects.yaml",
    "params-styles.yaml",
    "bodies.yaml",
    "recursive-polymorphic.yaml",
    "service-paths.yaml",
)

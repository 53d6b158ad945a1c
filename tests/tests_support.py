"""Helpers shared by tests (importable: pytest puts tests/ on sys.path)."""

from __future__ import annotations

import os
import socket

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

"""The local-services gate: skip on a developer machine, fail in CI (AUTOCODER_REQUIRE_SERVICES)."""

from __future__ import annotations

import socket

import pytest
from tests_support import require_service


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the socket is


def test_missing_service_skips_without_the_ci_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUTOCODER_REQUIRE_SERVICES", raising=False)
    with pytest.raises(pytest.skip.Exception, match="not reachable"):
        require_service("127.0.0.1", _closed_port(), "PostgreSQL")


def test_missing_service_fails_with_the_ci_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOCODER_REQUIRE_SERVICES", "1")
    with pytest.raises(pytest.fail.Exception, match="forbids skipping"):
        require_service("127.0.0.1", _closed_port(), "PostgreSQL")

"""Shared test fixtures and options."""

from __future__ import annotations

import getpass
import os
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config: pytest.Config) -> None:
    """Generated services share one virtual environment across tests, workers and runs (it is
    rebuilt when their requirements change, under a lock); AUTOCODER_SERVICE_VENV overrides."""
    default = Path(tempfile.gettempdir()) / f"autocoder-service-venv-{getpass.getuser()}"
    os.environ.setdefault("AUTOCODER_SERVICE_VENV", str(default))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite golden expectation files from the current output",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture
def repo_root(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run with the repository root as working directory (paths in diagnostics are relative)."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("AUTOCODER_TODAY", "2026-11-25")
    return ROOT

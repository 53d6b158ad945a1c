"""Each dataflow component handles a sample message through the real wiring (channels,
capabilities, supervisor), and the flow drains on shutdown. Generated; do not edit: regenerate."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient


def _feed(app: FastAPI, component: str, port: str, message: dict[str, object]) -> None:
    """Send one message on an output port, then stop the app (which drains the flow)."""
    with TestClient(app) as client:
        client.portal.call(app.state.system.emit, component, port, message)


def _dead_letters(app: FastAPI, component: str) -> list[str]:
    entries = app.state.system.supervisor.dead_letter.entries
    return [entry.error for entry in entries if entry.component == component]


def test_the_system_has_no_dataflow() -> None:
    """Nothing to test here: the blueprint declares no bindings."""

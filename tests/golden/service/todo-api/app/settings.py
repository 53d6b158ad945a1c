"""Settings of todo-api: the environment is chosen by AUTOCODER_ENV, secrets come from the
process environment (never from this file). Generated from deployment.yaml; do not edit."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SYSTEM = "todo-api"
VERSION = "1.4.0"
DEFAULT_ENVIRONMENT = "dev"

# The configuration of every component as written in architecture.yaml.
COMPONENTS: dict[str, dict[str, Any]] = {
    "api": {
        "base_path": "/v1",
        "max_body_bytes": 65536,
        "request_timeout": "5s",
        "title": "Todo API",
    },
    "todos": {
        "entity": "Todo",
        "filters": ["done", "priority", "assignee"],
        "indexes": ["due_on", "assignee", ["done", "priority"]],
        "key": "id",
        "key_strategy": "uuid",
        "max_page_size": 200,
        "operations": ["create", "get", "list", "update", "delete"],
        "page_size": 50,
        "unique": [],
    },
}

# Per environment: logging, port, databases, and the effective config of overridden components.
ENVIRONMENTS: dict[str, dict[str, Any]] = {
    "dev": {
        "log_level": "debug",
        "port": 8000,
        "replicas": 1,
        "databases": {"todos": {"engine": "sqlite", "path": "data/todos.db", "pool_size": None}},
        "broker": None,
        "overrides": {},
    },
    "prod": {
        "log_level": "info",
        "port": 8080,
        "replicas": 3,
        "databases": {"todos": {"engine": "postgresql", "path": None, "pool_size": 20}},
        "broker": None,
        "overrides": {
            "todos": {
                "entity": "Todo",
                "filters": ["done", "priority", "assignee"],
                "indexes": ["due_on", "assignee", ["done", "priority"]],
                "key": "id",
                "key_strategy": "uuid",
                "max_page_size": 100,
                "operations": ["create", "get", "list", "update", "delete"],
                "page_size": 50,
                "unique": [],
            }
        },
    },
    "staging": {
        "log_level": "info",
        "port": 8080,
        "replicas": 2,
        "databases": {"todos": {"engine": "postgresql", "path": None, "pool_size": 5}},
        "broker": None,
        "overrides": {
            "api": {
                "base_path": "/v1",
                "max_body_bytes": 65536,
                "request_timeout": "10s",
                "title": "Todo API",
            },
            "todos": {
                "entity": "Todo",
                "filters": ["done", "priority", "assignee"],
                "indexes": ["due_on", "assignee", ["done", "priority"]],
                "key": "id",
                "key_strategy": "uuid",
                "max_page_size": 100,
                "operations": ["create", "get", "list", "update", "delete"],
                "page_size": 50,
                "unique": [],
            },
        },
    },
}

_DURATION = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)$")
_FACTORS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


class SettingsError(Exception):
    """The process environment cannot run this service (unknown environment, missing secret)."""


def seconds(text: str) -> float:
    """``"1.5s"`` -> 1.5."""
    match = _DURATION.match(text)
    if match is None:
        raise SettingsError(f"not a duration: {text!r}")
    return float(match.group(1)) * _FACTORS[match.group(2)]


@dataclass(frozen=True)
class Settings:
    environment: str
    log_level: str
    port: int
    database_url: str
    pool_size: int | None
    migrate_on_start: bool
    components: dict[str, dict[str, Any]]

    def config(self, component: str) -> dict[str, Any]:
        return self.components[component]


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _database_url(name: str, env: Mapping[str, Any], environ: Mapping[str, str]) -> str:
    if environ.get("DATABASE_URL"):
        return environ["DATABASE_URL"]
    if environ.get("DATABASE_URL_FILE"):  # a mounted secret file (compose, Kubernetes)
        path = environ["DATABASE_URL_FILE"]
        try:
            with open(path, encoding="utf-8") as fh:
                return fh.read().strip()
        except OSError as exc:
            raise SettingsError(f"DATABASE_URL_FILE={path!r} cannot be read: {exc}") from exc
    databases: dict[str, dict[str, Any]] = env["databases"]
    for store, database in sorted(databases.items()):
        if database["engine"] != "sqlite":
            raise SettingsError(
                f"environment {name!r} keeps store {store!r} on {database['engine']}: "
                "set DATABASE_URL or DATABASE_URL_FILE (from the secret named in deployment.yaml)"
            )
    paths = [d["path"] for _, d in sorted(databases.items()) if d.get("path")]
    return f"sqlite:///{paths[0] if paths else f'data/{SYSTEM}.db'}"


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings for the environment named by AUTOCODER_ENV (default dev)."""
    environ = os.environ if environ is None else environ
    name = environ.get("AUTOCODER_ENV") or DEFAULT_ENVIRONMENT
    if name not in ENVIRONMENTS:
        known = ", ".join(sorted(ENVIRONMENTS)) or "none"
        raise SettingsError(f"AUTOCODER_ENV={name!r} is not an environment of {SYSTEM} ({known})")
    env = ENVIRONMENTS[name]
    components = {c: dict(env["overrides"].get(c, config)) for c, config in COMPONENTS.items()}
    pool_sizes = [d["pool_size"] for d in env["databases"].values() if d.get("pool_size")]
    return Settings(
        environment=name,
        log_level=environ.get("LOG_LEVEL") or env["log_level"],
        port=int(environ.get("PORT") or env["port"]),
        database_url=_database_url(name, env, environ),
        pool_size=int(environ.get("DATABASE_POOL_SIZE") or 0)
        or (pool_sizes[0] if pool_sizes else None),
        migrate_on_start=_flag(environ.get("MIGRATE_ON_START"), default=True),
        components=components,
    )

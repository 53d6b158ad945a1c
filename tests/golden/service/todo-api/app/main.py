"""The todo-api service: ``uvicorn --factory app.main:create_app``.

Generated from the blueprint; do not edit: regenerate.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from .api import api as api_routes
from .logic_base import LogicNotImplementedError
from .runtime.http import ErrorBody, ErrorResponse, health_router, install, setup_tracing
from .runtime.logs import configure_logging, get_logger, request_id
from .runtime.metrics import Metrics
from .runtime.store import StoreError
from .settings import ENVIRONMENTS, SYSTEM, VERSION, Settings, load_settings, seconds
from .system import System

ALLOWED_ORIGINS = ["https://todo.acme.example"]
SERVICE_ROOT = Path(__file__).resolve().parent.parent
log = get_logger("app.main")


def migrate(settings: Settings) -> None:
    """Bring the database schema to the newest migration (alembic upgrade head)."""
    from alembic import command
    from alembic.config import Config

    from .runtime.store import database_urls

    sync_url, _ = database_urls(settings.database_url)
    if sync_url.startswith("sqlite:///") and not sync_url.endswith(":memory:"):
        Path(sync_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    config = Config(str(SERVICE_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(SERVICE_ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", sync_url.replace("%", "%%"))
    command.upgrade(config, "head")


def _error(status: int, code: str, message: str) -> JSONResponse:
    body = ErrorResponse(
        error=ErrorBody(status=status, code=code, message=message, request_id=request_id.get())
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=status)


def create_app(
    settings: Settings | None = None,
    http: httpx.AsyncClient | None = None,
    *,
    validate_responses: bool = False,
) -> FastAPI:
    """The app for one environment; ``http`` replaces the client of webhooks and polls (tests);
    ``validate_responses`` (tests) turns a reply its contract does not allow into a 500."""
    settings = settings or load_settings()
    configure_logging(settings.log_level, SYSTEM)
    for noisy in ("celpy", "alembic", "httpx", "httpcore"):  # their debug output is not ours
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    metrics = Metrics(SYSTEM)
    system = System(settings, metrics, http)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.migrate_on_start:
            await anyio.to_thread.run_sync(migrate, settings)
        broker = ENVIRONMENTS[settings.environment].get("broker")
        if broker:
            log.warning(
                f"environment {settings.environment!r} names a {broker} broker, but this version "
                "runs every binding in-process: replicas do not share streams"
            )
        log.info(
            "starting",
            extra={"fields": {"environment": settings.environment, "version": VERSION}},
        )
        async with anyio.create_task_group() as tg:
            tg.start_soon(system.run)
            try:
                yield
            finally:
                system.stop()  # the dataflow drains every buffered message before run() returns
        await system.close()
        log.info("stopped", extra={"fields": {"processed": system.supervisor.processed}})

    app = FastAPI(
        title="Todo API",
        version=VERSION,
        description="A team todo list over HTTP, protected by API keys.",
        lifespan=lifespan,
    )
    app.state.system = system
    app.state.settings = settings
    install(
        app,
        metrics=metrics,
        max_body_bytes=_max_body_bytes(settings),
        request_timeout=_request_timeout(settings),
        allowed_origins=ALLOWED_ORIGINS,
    )

    @app.exception_handler(StoreError)
    async def store_error(request: Request, exc: StoreError) -> JSONResponse:
        return _error(exc.status, exc.code, str(exc))

    @app.exception_handler(LogicNotImplementedError)
    async def not_implemented(request: Request, exc: LogicNotImplementedError) -> JSONResponse:
        log.error(str(exc))
        return _error(501, "not_implemented", str(exc))

    app.include_router(health_router({"database": system.ready}, metrics))
    app.include_router(api_routes.router)
    del validate_responses  # no contract API: nothing to validate
    setup_tracing(app, SYSTEM)
    return app


def _request_timeout(settings: Settings) -> float | None:
    """The longest request timeout of the API components in this environment."""
    timeouts = [
        seconds(settings.config(name)["request_timeout"])
        for name in ["api"]
        if settings.config(name).get("request_timeout")
    ]
    return max(timeouts) if timeouts else None


def _max_body_bytes(settings: Settings) -> int | None:
    """The largest request body any API component accepts in this environment."""
    limits = [
        int(settings.config(name)["max_body_bytes"])
        for name in ["api"]
        if settings.config(name).get("max_body_bytes")
    ]
    return max(limits) if limits else None

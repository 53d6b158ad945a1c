"""The running todo-api: database, stores, and the dataflow of bindings between components.

Generated from the blueprint; do not edit: regenerate. Custom logic lives in app/logic/.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
from pydantic import TypeAdapter

from . import tables
from .logic.api import ApiLogic
from .logic_base import LogicNotImplementedError
from .runtime import (
    Channel,
    CircuitBreaker,
    RateLimiter,
    RetryPolicy,
    Supervisor,
    apply_capabilities,
)
from .runtime.components import (
    cron_source,
    http_poll_source,
    interval_source,
    log_sink,
    webhook_sink,
)
from .runtime.logs import get_logger
from .runtime.metrics import Metrics
from .runtime.store import Database, Store, store_sink
from .settings import Settings, seconds

Message = dict[str, Any]
Handler = Callable[[Message], Awaitable[None]]
log = get_logger("app.system")

__all__ = ["Documents", "LogicNotImplementedError", "Stores", "System"]


@dataclass(frozen=True)
class Stores:
    """One store per `store` component."""

    todos: Store


@dataclass(frozen=True)
class Documents:
    """One document collection per `documents` component."""

    pass


@dataclass
class Logic:
    """The custom logic modules (app/logic/), one per component with `logic: custom`."""

    api: ApiLogic


class System:
    """Everything the service runs, built from the settings of one environment."""

    def __init__(
        self, settings: Settings, metrics: Metrics, http: httpx.AsyncClient | None = None
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.database = Database(settings.database_url, pool_size=settings.pool_size)
        self.stores = Stores(
            todos=Store(
                self.database,
                tables.todos,
                key="id",
                key_strategy="uuid",
                filters=["done", "priority", "assignee"],
                page_size=settings.config("todos")["page_size"],
                max_page_size=settings.config("todos")["max_page_size"],
                created_fields=["created_at"],
                updated_fields=["updated_at"],
                defaults={"done": False, "labels": [], "notes": "", "priority": "normal"},
            ),
        )
        self.documents = Documents()
        self.logic = Logic(
            api=ApiLogic(self),
        )
        self.http = http or httpx.AsyncClient(headers={"User-Agent": "todo-api/1.4.0"})
        self.supervisor = Supervisor()
        self._outputs: dict[tuple[str, str], list[Channel[Message]]] = {}
        self._inputs: dict[tuple[str, str], list[Any]] = {}
        self._stopped = anyio.Event()
        self._bind()
        self._build()

    # --- plumbing ---------------------------------------------------------------------------

    def _bind(self) -> None:
        """One bounded channel per binding; a full buffer blocks the sender."""

    def outputs(self, component: str, ports: list[str]) -> list[Channel[Message]]:
        return [ch for port in ports for ch in self._outputs.get((component, port), [])]

    def inputs(self, component: str, ports: list[str]) -> list[Any]:
        return [rx for port in ports for rx in self._inputs.get((component, port), [])]

    async def emit(self, component: str, port: str, message: Message) -> None:
        """Send ``message`` on an output port: waits while a target buffer is full."""
        channels = self._outputs.get((component, port))
        if not channels:
            self.metrics.count_message(component, port, "unbound")
            return
        for channel in channels:
            await channel.send(message)
        self.metrics.count_message(component, port)

    def emitter(self, component: str) -> Callable[[str, Message], Awaitable[None]]:
        async def emit(port: str, message: Message) -> None:
            await self.emit(component, port, message)

        return emit

    def guard(
        self,
        component: str,
        handler: Handler,
        *,
        model: Any = None,
        error_port: str | None = None,
        timeout: float | None = None,
        retry: dict[str, float] | None = None,
        circuit_breaker: dict[str, float] | None = None,
        rate_limit: dict[str, float] | None = None,
    ) -> Handler:
        """The component's capabilities, in the fixed order (validate, timeout, retry, circuit
        breaker, rate limit, metrics); with an error port, failures are sent there."""
        validate = TypeAdapter(model).validate_python if model is not None else None
        wrapped = apply_capabilities(
            handler,
            validate=validate,
            timeout=timeout,
            retry=RetryPolicy(
                attempts=int(retry["attempts"]),
                initial=retry["initial"],
                maximum=retry["max"],
                multiplier=retry["multiplier"],
                jitter=retry["jitter"],
            )
            if retry
            else None,
            breaker=CircuitBreaker(
                int(circuit_breaker["failure_threshold"]), circuit_breaker["reset_after"]
            )
            if circuit_breaker
            else None,
            limiter=RateLimiter(
                int(rate_limit["rate"]), rate_limit["per"], int(rate_limit["burst"])
            )
            if rate_limit
            else None,
            observe=self.metrics.observer(component),
        )
        if error_port is None:
            return wrapped

        async def to_error_port(message: Message) -> None:
            try:
                await wrapped(message)
            except Exception as exc:
                log.warning(
                    "message sent to the error port",
                    extra={
                        "fields": {"component": component, "port": error_port, "error": repr(exc)}
                    },
                )
                await self.emit(component, error_port, message)

        return to_error_port

    async def _until_stopped(self, stop: anyio.Event) -> None:
        await stop.wait()

    def _sink(self, component: str, config: dict[str, Any]) -> Handler:
        if "log" in config:
            return log_sink(component, config["log"].get("level", "info"))
        if "webhook" in config:
            hook = config["webhook"]
            backoff = hook.get("backoff", {})
            return webhook_sink(
                hook["url"],
                self.http,
                timeout=seconds(hook.get("timeout", "5s")),
                retries=int(hook.get("retries", 3)),
                initial=seconds(backoff.get("initial", "100ms")),
                maximum=seconds(backoff.get("max", "10s")),
                multiplier=float(backoff.get("multiplier", 2.0)),
                jitter=float(backoff.get("jitter", 0.1)),
                headers=hook.get("headers", {}),
            )
        target = config["store"]
        store: Store = getattr(self.stores, target["component"].replace("-", "_"))
        return store_sink(store, target.get("operation", "create"))

    def _source(self, component: str, config: dict[str, Any], port: str) -> Any:
        emit = self.emitter(component)
        payload = config.get("payload", {})
        if "interval" in config:
            return interval_source(seconds(config["interval"]), emit, port=port, payload=payload)
        if "cron" in config:
            return cron_source(config["cron"], emit, port=port, payload=payload)
        poll = config["http_poll"]
        return http_poll_source(
            poll["url"],
            seconds(poll["every"]),
            emit,
            port=port,
            client=self.http,
            method=poll.get("method", "GET"),
            items=poll.get("items"),
        )

    # --- the components ---------------------------------------------------------------------

    def _build(self) -> None:
        """Every component of the dataflow: a source, or a worker on its input channels."""

    def _custom_handler(self, method: Any, model: Any, outputs: Any) -> Handler:
        async def handle(message: Message) -> None:
            await method(model.model_validate(message) if model is not None else message, outputs)

        return handle

    def _custom_source(self, logic: Any, outputs: Any) -> Any:
        async def produce(stop: anyio.Event) -> None:
            await logic.produce(outputs, stop)

        return produce

    # --- life cycle -------------------------------------------------------------------------

    async def ready(self) -> None:
        """Readiness: the database answers."""
        await self.database.ping()

    async def run(self) -> None:
        """Run the dataflow until ``stop``; returns once every buffered message is handled."""
        await self.supervisor.run(handle_signals=False)

    def stop(self) -> None:
        self.supervisor.stop()

    async def close(self) -> None:
        await self.http.aclose()
        await self.database.dispose()

"""Prometheus metrics of a service: HTTP requests, processed messages and dead letters.

Each ``Metrics`` owns its registry, so several apps (in tests, say) never share counters.
Routes are labelled by their template (``/v1/todos/{id}``), never by the raw path.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    generate_latest,
)

REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Histogram buckets (seconds) for request and message durations: 5 ms to 10 s."""


class Metrics:
    """The metrics of one service, in its own registry."""

    def __init__(self, service: str, registry: CollectorRegistry | None = None) -> None:
        self.service = service
        self.registry = registry if registry is not None else CollectorRegistry()
        info = Info("service", "The service these metrics describe.", registry=self.registry)
        info.info({"service": service})
        self.http_requests = Counter(
            "http_requests_total",
            "HTTP requests by method, route template and status.",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.http_duration = Histogram(
            "http_request_duration_seconds",
            "HTTP request duration by method and route template.",
            ("method", "route"),
            buckets=REQUEST_BUCKETS,
            registry=self.registry,
        )
        self.messages = Counter(
            "messages_total",
            "Messages handled by component, port and outcome.",
            ("component", "port", "outcome"),
            registry=self.registry,
        )
        self.message_duration = Histogram(
            "message_duration_seconds",
            "Time a component spent on one message.",
            ("component",),
            buckets=REQUEST_BUCKETS,
            registry=self.registry,
        )
        self.channel_backlog = Gauge(
            "channel_backlog",
            "Messages waiting in the buffer of a binding (the fullest target's).",
            ("binding",),
            registry=self.registry,
        )
        self.dead_letters = Counter(
            "dead_letters_total",
            "Messages sent to the dead letter, by component.",
            ("component",),
            registry=self.registry,
        )

    def watch_channel(self, binding: str, backlog: Callable[[], int]) -> None:
        """Export ``channel_backlog{binding}``: the messages waiting in a binding's buffer,
        read from ``backlog`` at each scrape (a growing backlog is backpressure building)."""
        self.channel_backlog.labels(binding).set_function(backlog)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one HTTP request; ``route`` is the route template."""
        self.http_requests.labels(method, route, str(status)).inc()
        self.http_duration.labels(method, route).observe(seconds)

    def observer(self, component: str) -> Callable[[str, float], None]:
        """An ``observe=`` callback for ``apply_capabilities``: outcome ("ok"/"error") and
        seconds of one call of ``component`` on a message from its input."""
        duration = self.message_duration.labels(component)

        def observe(outcome: str, seconds: float) -> None:
            duration.observe(seconds)
            self.messages.labels(component, "in", outcome).inc()

        return observe

    def count_message(self, component: str, port: str, outcome: str = "ok") -> None:
        """Count one message on ``port`` of ``component``."""
        self.messages.labels(component, port, outcome).inc()

    def count_dead_letter(self, component: str) -> None:
        """Count one message of ``component`` sent to the dead letter."""
        self.dead_letters.labels(component).inc()

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type, for ``GET /metrics``."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

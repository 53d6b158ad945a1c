"""The runtime of generated services: bounded streams with backpressure, capabilities, the
declarative component kinds, and (in submodules) the HTTP, store, metrics and logging layers.

This package is copied verbatim into every generated service (it imports nothing from the rest
of Autocoder) and is tested on its own in tests/runtime/. Importing the package needs anyio,
cel-python and httpx; ``http`` (FastAPI, PyJWT), ``store`` (SQLAlchemy) and ``metrics``
(prometheus-client) are imported by the service where it needs them.
"""

from .capabilities import (
    CircuitBreaker,
    CircuitOpenError,
    InvalidMessageError,
    PermanentError,
    RateLimiter,
    RetryPolicy,
    StepTimeoutError,
    apply_capabilities,
)
from .components import (
    Aggregator,
    CronSource,
    HttpPollSource,
    IntervalSource,
    NoRouteError,
    PollError,
    WebhookError,
    WebhookRejected,
    cron_source,
    filter_handler,
    http_poll_source,
    idempotency_key,
    interval_source,
    log_sink,
    router_handler,
    transformer_handler,
    webhook_sink,
)
from .expressions import Expression, ExpressionError, route, transform
from .schedule import Cron
from .streams import Channel, DeadLetter, DeadLetterEntry, Fanout, drain
from .supervisor import Supervisor, sleep_unless_stopped

__all__ = [
    "Aggregator",
    "Channel",
    "CircuitBreaker",
    "CircuitOpenError",
    "Cron",
    "CronSource",
    "DeadLetter",
    "DeadLetterEntry",
    "Expression",
    "ExpressionError",
    "Fanout",
    "HttpPollSource",
    "IntervalSource",
    "InvalidMessageError",
    "NoRouteError",
    "PermanentError",
    "PollError",
    "RateLimiter",
    "RetryPolicy",
    "StepTimeoutError",
    "Supervisor",
    "WebhookError",
    "WebhookRejected",
    "apply_capabilities",
    "cron_source",
    "drain",
    "filter_handler",
    "http_poll_source",
    "idempotency_key",
    "interval_source",
    "log_sink",
    "route",
    "router_handler",
    "sleep_unless_stopped",
    "transform",
    "transformer_handler",
    "webhook_sink",
]

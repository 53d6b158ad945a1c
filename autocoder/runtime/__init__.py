"""The runtime of generated services: bounded streams with backpressure and capabilities.

This package is copied verbatim into every generated service (it imports nothing from the rest
of Autocoder) and is tested on its own in tests/runtime/. It depends only on anyio.
"""

from .capabilities import (
    CircuitBreaker,
    CircuitOpenError,
    InvalidMessageError,
    RateLimiter,
    RetryPolicy,
    StepTimeoutError,
    apply_capabilities,
)
from .expressions import Expression, ExpressionError, route, transform
from .streams import Channel, DeadLetter, DeadLetterEntry, Fanout, drain
from .supervisor import Supervisor

__all__ = [
    "Channel",
    "CircuitBreaker",
    "CircuitOpenError",
    "DeadLetter",
    "DeadLetterEntry",
    "Expression",
    "ExpressionError",
    "Fanout",
    "InvalidMessageError",
    "RateLimiter",
    "RetryPolicy",
    "StepTimeoutError",
    "Supervisor",
    "apply_capabilities",
    "drain",
    "route",
    "transform",
]

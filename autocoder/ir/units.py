"""Units used by blueprints: durations (``500ms``, ``5s``) and Kubernetes quantities."""

from __future__ import annotations

import re

_DURATION = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)$")
_FACTORS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}
_MEMORY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|K|M|G|T)?$")
_MEMORY_FACTORS = {
    None: 1,
    "K": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
}


def duration_ms(text: str) -> int:
    """``"1.5s"`` -> 1500. The schema guarantees the form."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"not a duration: {text!r}")
    return round(float(match.group(1)) * _FACTORS_MS[match.group(2)])


def cpu_millis(text: str) -> int:
    """``"250m"`` -> 250, ``"1.5"`` -> 1500."""
    if text.endswith("m"):
        return round(float(text[:-1]))
    return round(float(text) * 1000)


def memory_bytes(text: str) -> int:
    """``"256Mi"`` -> 268435456."""
    match = _MEMORY.match(text)
    if match is None:
        raise ValueError(f"not a memory quantity: {text!r}")
    return round(float(match.group(1)) * _MEMORY_FACTORS[match.group(2)])

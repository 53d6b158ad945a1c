"""Secrets never live in architecture.yaml: credentials in URLs, key-shaped strings and
authentication headers written into component configs are errors (deployment.yaml is checked
by check_deployment with the same patterns)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from autocoder.diagnostics import codes
from autocoder.frontend.loader import join_pointer
from autocoder.passes.context import PassContext

SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL)")
CREDENTIAL_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]*:[^/\s@]+@", re.IGNORECASE)
KEY_LOOKALIKE = re.compile(r"^(sk-[A-Za-z0-9]{16,}|ghp_[A-Za-z0-9]{20,}|AKIA[0-9A-Z]{16}|xox[bp]-)")
AUTH_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "api-key", "cookie"})


def looks_like_credential(value: str) -> bool:
    return bool(CREDENTIAL_URL.search(value) or KEY_LOOKALIKE.search(value))


def _strings(value: Any, pointer: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield pointer, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, join_pointer(pointer, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, join_pointer(pointer, index))


def check_secrets(ctx: PassContext) -> None:
    hint = "reference a secret from deployment.yaml (`secrets:`) instead of writing it here"
    for component in ctx.ir.components:
        origin = component.origin + "/config"
        for pointer, value in _strings(component.config, ""):
            if looks_like_credential(value):
                ctx.report(
                    codes.INLINE_SECRET,
                    f"component {component.name!r} has a credential "
                    f"written in its config ({pointer.lstrip('/')})",
                    origin + pointer,
                    hint=hint,
                )
        for kind in ("webhook", "http_poll"):
            headers = (
                component.config.get(kind, {}).get("headers", {})
                if isinstance(component.config.get(kind), dict)
                else {}
            )
            for name in headers:
                if name.lower() in AUTH_HEADERS or SECRET_NAME.search(name.upper()):
                    ctx.report(
                        codes.INLINE_SECRET,
                        f"header {name!r} of {component.name!r} "
                        "carries a credential written in architecture.yaml",
                        f"{origin}/{kind}/headers/{name}",
                        key=True,
                        hint=hint,
                    )

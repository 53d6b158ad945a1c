"""Serve todo-api: ``python -m app`` (the container's command), or ``python -m app migrate``.

HOST and PORT come from the process environment (HOST defaults to 127.0.0.1; the container image
sets 0.0.0.0). Generated from the blueprint; do not edit: regenerate.
"""

from __future__ import annotations

import os
import sys

import uvicorn

from .main import migrate
from .settings import SettingsError, load_settings


def main(argv: list[str]) -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if argv[1:] == ["migrate"]:
        migrate(settings)
        return 0
    if argv[1:]:
        print("usage: python -m app [migrate]", file=sys.stderr)
        return 2
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=os.environ.get("HOST") or "127.0.0.1",
        port=settings.port,
        proxy_headers=True,
        forwarded_allow_ips=os.environ.get("FORWARDED_ALLOW_IPS") or "127.0.0.1",
        access_log=False,
        timeout_graceful_shutdown=30,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""Start the generated service for the dynamic tiers (contract, performance).

``serve(ctx)`` runs ``python -m app`` with the service's own interpreter on 127.0.0.1 and a
free port, on a fresh SQLite database in a temporary directory, with a random API key and JWT
secret; it waits for ``/readyz`` and stops the process (SIGINT, then kill) when the block ends.
The loopback partners of the environment (webhook receivers, polled APIs) are stood in for
(``autocoder.validate.standin``) from before the service starts until after it has drained.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from autocoder.backends.deploy.model import SERVICE_ENV_VARS
from autocoder.ir.endpoints import ServiceEndpoints, service_endpoints
from autocoder.validate.context import ValidateContext
from autocoder.validate.findings import Finding, Location, Severity
from autocoder.validate.standin import StandIns, stand_ins

READY_TIMEOUT = 60.0  # seconds for the service to answer /readyz
STOP_TIMEOUT = 15.0  # seconds between SIGINT and kill
TAIL_LINES = 30

# The service reads its configuration from these; the caller's values never leak into a run
# (a DATABASE_URL of the caller's shell could point at a real database).
SERVICE_VARIABLES = SERVICE_ENV_VARS


class ServeError(Exception):
    """The service did not start or did not become ready; the message ends with its output."""


@dataclass(frozen=True)
class Served:
    """A running service: where it listens and how to authenticate."""

    base_url: str
    api_key: str
    api_key_header: str
    auth: str  # "none", "api_key" or "bearer" (the blueprint's policy.security.auth)
    jwt_secret: str = ""
    partners: StandIns = field(default_factory=StandIns)  # deliveries counted when it ends
    endpoints: ServiceEndpoints = field(default_factory=ServiceEndpoints)  # its own paths

    def headers(self) -> dict[str, str]:
        """Request headers that pass the service's authentication."""
        if self.auth == "api_key":
            return {self.api_key_header: self.api_key}
        if self.auth == "bearer":
            return {"Authorization": f"Bearer {bearer_token(self.jwt_secret)}"}
        return {}


def not_ready_finding(ctx: ValidateContext, tier: str, error: ServeError) -> Finding:
    """The error finding of a service that did not start (its output tail as the hint)."""
    first, _, tail = str(error).partition("\n")
    return Finding(
        code="service-not-ready",
        severity=Severity.ERROR,
        message=first.rstrip(":"),
        tier=tier,
        location=Location(file=ctx.relative(ctx.service)),
        hint=tail or None,
        rule_name="the service does not start",
    )


def outside_findings(ctx: ValidateContext, partners: StandIns, tier: str) -> list[Finding]:
    """A warning per webhook or poll of the served environment that leaves the machine: the
    tier's traffic reaches it (or fails, with no network), and nothing stands in for it."""
    env = environment_name(ctx)
    found = []
    for outside in partners.outside:
        node = f"component:{outside.component}"
        origin = next(
            (
                f"{e.origin}/overrides/{outside.component}"
                for e in ctx.ir.environments
                if e.name == env and any(o.component == outside.component for o in e.overrides)
            ),
            ctx.origins.get(node),
        )
        found.append(
            Finding(
                code="partner-not-stood-in",
                severity=Severity.WARNING,
                message=f"the {outside.purpose} of {outside.component!r} in environment {env!r} "
                f"goes to {outside.url}: validation traffic leaves the machine",
                tier=tier,
                location=ctx.locate(origin, node),
                hint=f"point environment {env!r} at a loopback URL (http://127.0.0.1:PORT/...) "
                "in deployment.yaml; validate stands in for it while the service runs",
                rule_name="a served environment talks to a partner outside the machine",
            )
        )
    return found


def bearer_token(secret: str, lifetime: int = 3600) -> str:
    """An HS256 JWT carrying only ``exp``, as the service's bearer check requires."""

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = part(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = {"sub": "autocoder-validate", "exp": int(time.time()) + lifetime}
    claims = part(json.dumps(payload).encode())
    signing_input = f"{header}.{claims}".encode()
    signature = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return f"{header}.{claims}.{part(signature)}"


def service_env(base: Mapping[str, str]) -> dict[str, str]:
    """``base`` without the service's configuration variables (and without bytecode files)."""
    env = {k: v for k, v in base.items() if k not in SERVICE_VARIABLES}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def environment_name(ctx: ValidateContext) -> str:
    """The environment the service runs as: ``dev`` when the blueprint has it, else the first."""
    names = [env.name for env in ctx.ir.environments]
    return "dev" if "dev" in names or not names else names[0]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tail(log: IO[bytes]) -> str:
    log.flush()
    log.seek(0)
    lines = log.read().decode(errors="replace").splitlines()
    return "\n".join(lines[-TAIL_LINES:])


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our loopback URL
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def serve(ctx: ValidateContext, *, ready_timeout: float = READY_TIMEOUT) -> Iterator[Served]:
    """Run the service until the block ends; raises ``ServeError`` when it does not get ready."""
    python = ctx.service_python()
    security = ctx.ir.policy.security
    environment = environment_name(ctx)
    with (
        stand_ins(ctx.ir, environment) as partners,
        tempfile.TemporaryDirectory(prefix="autocoder-serve-") as tmp,
    ):
        port = free_port()
        api_key = secrets.token_urlsafe(24)
        jwt_secret = secrets.token_urlsafe(32)
        env = service_env(ctx.subprocess_env)
        env.update(
            AUTOCODER_ENV=environment,
            DATABASE_URL=f"sqlite:///{Path(tmp) / 'v.db'}",
            API_KEYS=api_key,
            JWT_SECRET=jwt_secret,
            MIGRATE_ON_START="true",
            LOG_LEVEL="warning",
            HOST="127.0.0.1",
            PORT=str(port),
        )
        with open(Path(tmp) / "service.log", "w+b") as log:
            process = subprocess.Popen(  # noqa: S603 - the service's own interpreter
                [str(python), "-m", "app"],
                cwd=ctx.service,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                base_url = f"http://127.0.0.1:{port}"
                deadline = time.monotonic() + ready_timeout
                endpoints = service_endpoints(ctx.ir)
                while not _ready(base_url + endpoints.readiness):
                    if process.poll() is not None:
                        raise ServeError(
                            f"the service exited with status {process.returncode} before it was "
                            f"ready:\n{_tail(log)}"
                        )
                    if time.monotonic() > deadline:
                        raise ServeError(
                            f"the service did not answer {base_url}{endpoints.readiness} within "
                            f"{ready_timeout:.0f} s:\n{_tail(log)}"
                        )
                    time.sleep(0.1)
                yield Served(
                    base_url=base_url,
                    api_key=api_key,
                    api_key_header=security.api_key_header,
                    auth=security.auth,
                    partners=partners,
                    jwt_secret=jwt_secret,
                    endpoints=endpoints,
                )
            finally:
                _stop(process)

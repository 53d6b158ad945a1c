"""Stand-ins for the partners a served environment talks to on loopback.

An environment for local runs points its webhooks and HTTP polls at ``http://127.0.0.1:PORT``
(a mock server the team runs beside the service). When the contract and performance tiers
serve the system, nobody runs that mock: deliveries would fail, retry and back off, and the
tiers would measure the retries instead of the service. ``stand_ins(ctx, environment)`` runs
one HTTP server per loopback address in a separate process (so it shares no interpreter lock
with the load generator): a webhook's POST gets ``204`` and is counted; a poll's GET gets one
sample of the source's output type, at the source's ``items`` path. An address already in use
is left to whatever listens there. URLs that leave the machine are reported, not stood in
for: validation traffic reaches them.

The process is ``python -m autocoder.validate.standin CONFIG``: it prints ``ready`` once every
server listens, and on SIGINT or SIGTERM prints the deliveries as JSON and exits.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
START_TIMEOUT = 10.0  # seconds for the stand-in process to listen
STOP_TIMEOUT = 5.0


@dataclass(frozen=True)
class Outside:
    """A webhook or poll of the served environment that leaves the machine."""

    component: str
    purpose: str  # "webhook" or "poll"
    url: str


@dataclass
class Plan:
    """What to stand in for: per loopback address, the GET answers of its polls."""

    addresses: dict[str, dict[str, Any]] = field(default_factory=dict)  # "host:port" -> answers
    outside: list[Outside] = field(default_factory=list)

    def add(self, component: str, purpose: str, url: str, answer: Any = None) -> None:
        parts = urlsplit(url)
        try:
            port = parts.port or (80 if parts.scheme == "http" else 443)
        except ValueError:
            return  # the blueprint passes reject such a URL; nothing to serve
        if parts.scheme != "http" or parts.hostname not in LOOPBACK:
            self.outside.append(Outside(component, purpose, url))
            return
        host = "127.0.0.1" if parts.hostname == "localhost" else parts.hostname
        answers = self.addresses.setdefault(f"{host}:{port}", {})
        if purpose == "poll":
            answers[parts.path or "/"] = answer


@dataclass
class StandIns:
    """The running stand-ins; ``deliveries`` is filled in when they stop."""

    listening: list[str] = field(default_factory=list)  # addresses served
    busy: list[str] = field(default_factory=list)  # addresses something else listens on
    outside: list[Outside] = field(default_factory=list)
    deliveries: Counter[str] = field(default_factory=Counter)  # "METHOD host:port/path" -> n

    def summary(self) -> str | None:
        """One line for a tier's ``checked`` list; None when nothing was stood in for."""
        if not self.listening and not self.busy:
            return None
        parts = []
        if self.listening:
            counts = ", ".join(f"{k} x{n}" for k, n in sorted(self.deliveries.items()))
            parts.append(
                f"partner stand-ins on {', '.join(self.listening)}: "
                f"{sum(self.deliveries.values())} request(s)" + (f" ({counts})" if counts else "")
            )
        if self.busy:
            parts.append(f"{', '.join(self.busy)} already in use: left to what listens there")
        return "; ".join(parts)


def plan(ir: Any, environment: str) -> Plan:
    """The loopback partners of ``environment``: webhook sinks and HTTP-poll sources."""
    from autocoder.backends.deploy.model import effective_configs
    from autocoder.backends.python_service.samples import type_sample

    found = Plan()
    env = next((e for e in ir.environments if e.name == environment), None)
    if env is None:
        return found
    types = {t.name: t for t in ir.types}
    components = {c.name: c for c in ir.components}
    for name, config in sorted(effective_configs(env, ir).items()):
        webhook = config.get("webhook")
        if isinstance(webhook, dict) and isinstance(webhook.get("url"), str):
            found.add(name, "webhook", webhook["url"])
        poll = config.get("http_poll")
        if isinstance(poll, dict) and isinstance(poll.get("url"), str):
            outputs = components[name].outputs
            item = type_sample(outputs[0].type, types) if outputs else {}
            answer: Any = [item]
            if isinstance(poll.get("items"), str):
                for key in reversed(poll["items"].split(".")):
                    answer = {key: answer}
            found.add(name, "poll", poll["url"], answer)
    return found


@contextmanager
def stand_ins(ir: Any, environment: str) -> Iterator[StandIns]:
    """Run the stand-ins of ``environment`` until the block ends."""
    wanted = plan(ir, environment)
    running = StandIns(listening=[], busy=[], outside=wanted.outside)
    if not wanted.addresses:
        yield running
        return
    with tempfile.TemporaryDirectory(prefix="autocoder-standin-") as tmp:
        config = Path(tmp) / "standin.json"
        config.write_text(json.dumps(wanted.addresses), encoding="utf-8")
        process = subprocess.Popen(  # noqa: S603 - this interpreter, our own module
            [sys.executable, "-m", "autocoder.validate.standin", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            ready = _read_line(process, START_TIMEOUT)
            status = json.loads(ready) if ready.startswith("{") else {}
            running.listening = list(status.get("listening", []))
            running.busy = list(status.get("busy", []))
            yield running
        finally:
            process.send_signal(signal.SIGINT)
            try:
                out, _ = process.communicate(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                out, _ = process.communicate()
            for line in out.splitlines():
                if line.startswith("{"):
                    running.deliveries.update(json.loads(line).get("deliveries", {}))


def _read_line(process: subprocess.Popen[str], timeout: float) -> str:
    """The first line the process prints, or "" if none comes within ``timeout``."""
    line: list[str] = []
    reader = threading.Thread(
        target=lambda: line.append(process.stdout.readline() if process.stdout else ""),
        daemon=True,
    )
    reader.start()
    reader.join(timeout)
    return line[0].strip() if line else ""


# --- the stand-in process -----------------------------------------------------------------------


def _handler(address: str, answers: dict[str, Any], counts: Counter[str]) -> type:
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _count(self) -> None:
            with lock:
                counts[f"{self.command} {address}{urlsplit(self.path).path}"] += 1

        def _drain(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)

        def do_POST(self) -> None:
            self._drain()
            self._count()
            self.send_response(204)
            self.end_headers()

        do_PUT = do_PATCH = do_POST

        def do_GET(self) -> None:
            self._count()
            path = urlsplit(self.path).path
            if path not in answers:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = json.dumps(answers[path]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return  # quiet: the counts are the record

    return Handler


def main(argv: list[str]) -> int:
    addresses: dict[str, dict[str, Any]] = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    counts: Counter[str] = Counter()
    servers, listening, busy = [], [], []
    for address, answers in sorted(addresses.items()):
        host, _, port = address.rpartition(":")
        try:
            server = ThreadingHTTPServer((host, int(port)), _handler(address, answers, counts))
        except OSError:
            busy.append(address)
            continue
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        listening.append(address)
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    print(json.dumps({"listening": listening, "busy": busy}), flush=True)
    stopped.wait()
    for server in servers:
        server.shutdown()
    print(json.dumps({"deliveries": dict(counts)}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

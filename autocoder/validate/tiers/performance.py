"""The ``performance`` tier: the blueprint's latency and throughput budgets, measured on loopback.

For each SLO of ``policy.slos`` (a route named by its operation id) the service, started by
``autocoder.validate.serve``, gets an open-loop load: requests are sent at a fixed rate (the
SLO's throughput budget, else ``DEFAULT_RPS``) for ``DURATION`` seconds, at most
``MAX_IN_FLIGHT`` at a time. The tier records p50/p95/p99 latency and the achieved rate of every
route in ``metrics`` and fails a route whose p95 exceeds ``p95_ms`` or whose achieved rate falls
more than 5 % short of ``throughput_rps``.

Requests are valid ones built from the route: sample bodies of the request type, an existing
key for a path parameter (from a create route of the same store, else its list route; a
route with nothing to read is measured on its 404 answer, with a note). Creates run first so
that reads find records. A rate limit of the route's component caps the offered rate: a
throughput budget above it cannot be met by design, which a warning says.

The load comes from ``LoopbackClient``, a minimal HTTP/1.1 keep-alive client on asyncio
streams in this process: a general client (httpx spends about 3 ms of CPU per request) would
saturate a core near 250 req/s and measure itself instead of the service.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from autocoder.backends.python_service.samples import sample, type_sample
from autocoder.ir.models import IR, Component, Route, Slo
from autocoder.validate.context import ValidateContext
from autocoder.validate.findings import Finding, Location, Severity, Status, TierResult
from autocoder.validate.serve import Served, ServeError, not_ready_finding, serve

NAME = "performance"
INPUTS = ("service", "architecture.yaml")

DURATION = 2.0  # seconds of measured load per route
DEFAULT_RPS = 50.0  # offered rate of a route with a latency budget only
MIN_REQUESTS = 20
WARMUP = 5  # unmeasured requests per route (connections, caches)
MAX_IN_FLIGHT = 32
REQUEST_TIMEOUT = 10.0
DRAIN_TIMEOUT = 15.0  # seconds to wait for the dataflow to empty its buffers between routes
DRAIN_GRACE = 0.5  # seconds of backlog after the load that still count as keeping up
TOLERANCE = 0.95  # the achieved rate may fall this much short (scheduling jitter)
PLACEHOLDER = "00000000-0000-4000-8000-000000000000"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    params: dict[str, Any]
    bodies: tuple[Any, ...]  # request i sends bodies[i % len]: distinct records where possible
    expected: frozenset[int]  # statuses of a valid answer

    def body(self, i: int) -> Any:
        return self.bodies[i % len(self.bodies)]


@dataclass
class Measurement:
    latencies: list[float] = field(default_factory=list)  # seconds, answered requests
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)  # transport errors by type
    seconds: float = 0.0
    sent: int = 0
    drain: float | None = None  # seconds the dataflow took to empty its buffers afterwards
    waiting: float = 0.0  # messages still buffered when the drain wait gave up

    @property
    def sustained_rps(self) -> float | None:
        """Answered requests per second counting the time the dataflow needed to process
        their messages; None when the service has no dataflow."""
        if self.drain is None or not self.seconds:
            return None
        return sum(self.statuses.values()) / (self.seconds + self.drain)

    def percentile(self, p: int) -> float:
        """The ``p``-th percentile latency in milliseconds."""
        if len(self.latencies) == 1:
            return self.latencies[0] * 1000
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[p - 1] * 1000

    @property
    def rps(self) -> float:
        answered = sum(self.statuses.values())
        return answered / self.seconds if self.seconds else 0.0


@dataclass
class Target:
    """One SLO route and what its load needs."""

    slo: Slo
    route: Route
    component: Component
    location: Location  # the SLO's line in architecture.yaml, with the route's node id

    @property
    def label(self) -> str:
        return f"{self.route.method} {self.route.path}"

    @property
    def rate_limit(self) -> float | None:
        limit = self.component.capabilities.rate_limit
        return limit.rate * 1000 / limit.per_ms if limit else None

    @property
    def rate(self) -> float:
        wanted = self.slo.throughput_rps or DEFAULT_RPS
        return min(wanted, self.rate_limit) if self.rate_limit else wanted


# --- the client -------------------------------------------------------------------------------


TRANSPORT_ERRORS = (OSError, EOFError, TimeoutError, ValueError)

Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class LoopbackClient:
    """HTTP/1.1 over keep-alive connections to the service (``Content-Length`` and chunked
    bodies), at most ``connections`` at a time. Transport failures raise one of
    ``TRANSPORT_ERRORS``."""

    def __init__(self, base_url: str, headers: dict[str, str], connections: int) -> None:
        url = urlsplit(base_url)
        self.host = url.hostname or "127.0.0.1"
        self.port = url.port or 80
        self.headers = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.idle: list[Stream] = []
        self.slots = asyncio.Semaphore(connections)

    async def request(
        self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None
    ) -> Answer:
        target = path + (f"?{urlencode(_query_values(params))}" if params else "")
        payload = b"" if body is None else json.dumps(body).encode()
        head = (
            f"{method} {target} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{self.headers}"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        )
        message = head.encode() + payload
        async with self.slots:
            reused = bool(self.idle)
            try:
                return await self._exchange(message)
            except (EOFError, ConnectionError):
                if not reused:
                    raise
                await self.aclose()  # the server closed idle connections: start afresh
                return await self._exchange(message)

    async def _exchange(self, message: bytes) -> Answer:
        stream = (
            self.idle.pop() if self.idle else await asyncio.open_connection(self.host, self.port)
        )
        try:
            answer, reusable = await asyncio.wait_for(_exchange(stream, message), REQUEST_TIMEOUT)
        except BaseException:
            stream[1].close()
            raise
        if reusable:
            self.idle.append(stream)
        else:
            stream[1].close()
        return answer

    async def aclose(self) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()


def _query_values(params: dict[str, Any]) -> dict[str, str]:
    return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in params.items()}


async def _exchange(stream: Stream, message: bytes) -> tuple[Answer, bool]:
    reader, writer = stream
    writer.write(message)
    await writer.drain()
    status_line = (await reader.readline()).split()
    if len(status_line) < 2:
        raise EOFError("the connection closed before an answer")
    status = int(status_line[1])
    length, chunked, reusable = None, False, True
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value
        elif name == b"connection":
            reusable = b"close" not in value
    if chunked:
        parts = []
        while size := int((await reader.readline()).split(b";")[0], 16):
            parts.append((await reader.readexactly(size + 2))[:-2])
        while await reader.readline() not in (b"\r\n", b""):
            pass  # trailers
        body = b"".join(parts)
    elif length is not None:
        body = await reader.readexactly(length)
    elif status in (204, 304) or status < 200:
        body = b""
    else:
        body, reusable = await reader.read(), False  # delimited by the end of the connection
    return Answer(status, body), reusable


# --- requests ---------------------------------------------------------------------------------


def _routes(ir: IR) -> list[tuple[Component, Route]]:
    return [(c, r) for c in ir.components for r in c.routes]


def _store_route(ir: IR, store: str, operation: str, method: str) -> Route | None:
    for _, route in _routes(ir):
        called = (route.call.component, route.call.operation) if route.call else None
        if called == (store, operation) and route.method == method and not route.path_params:
            return route
    return None


def _key_sample(ir: IR, store: str) -> Any:
    component = ir.component(store)
    types = {t.name: t for t in ir.types}
    if component is None:
        return PLACEHOLDER
    entity = types.get(str(component.config.get("entity")))
    key = str(component.config.get("key", "id"))
    schema = entity.schema_.get("properties", {}).get(key) if entity else None
    if not isinstance(schema, dict):
        return PLACEHOLDER
    schema = {k: v for k, v in schema.items() if k not in ("examples", "default")}
    return sample(schema, types)


class RequestBuilder:
    """Valid requests for the routes of one running service (finds or creates records)."""

    def __init__(self, ir: IR, client: LoopbackClient) -> None:
        self.ir = ir
        self.client = client
        self.types = {t.name: t for t in ir.types}
        self.keys: dict[str, Any] = {}  # store -> an existing key (None: none found)

    def body(self, route: Route, variant: int = 0) -> Any:
        return type_sample(route.request, self.types, variant) if route.request else None

    def query(self, route: Route) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for param in route.query:
            if not param.required:
                continue
            if param.enum:
                values[param.name] = param.enum[0]
            elif param.default is not None:
                values[param.name] = param.default
            else:
                values[param.name] = sample({"type": param.type, "minimum": param.minimum}, {})
        return values

    async def existing_key(self, store: str) -> Any:
        """A key of a record in ``store``: created through its create route, else read from
        its list route; None when neither gives one."""
        if store in self.keys:
            return self.keys[store]
        component = self.ir.component(store)
        key_field = str(component.config.get("key", "id")) if component else "id"
        found: Any = None
        create = _store_route(self.ir, store, "create", "POST")
        listing = _store_route(self.ir, store, "list", "GET")
        try:
            if create is not None:
                answer = await self.client.request("POST", create.path, body=self.body(create))
                if answer.status < 300:
                    found = answer.json().get(key_field)
            if found is None and listing is not None:
                answer = await self.client.request("GET", listing.path, self.query(listing))
                items = answer.json().get("items", []) if answer.status < 300 else []
                found = items[0].get(key_field) if items else None
        except (*TRANSPORT_ERRORS, AttributeError, IndexError):
            found = None  # no answer of the expected shape: the 404 path is measured
        self.keys[store] = found
        return found

    async def build(self, route: Route, count: int = 1) -> tuple[Request, str | None]:
        """The request to repeat (``count`` distinct bodies for a write, so that records do not
        collide on their keys), and a note when the route is measured on its 404 answer."""
        expected = {route.response.status}
        note = None
        path = route.path
        if route.path_params:
            store = route.call.component if route.call else None
            key = await self.existing_key(store) if store else None
            if key is None:
                key = _key_sample(self.ir, store) if store else "sample"
                note = (
                    f"{route.method} {route.path}: no record to read (no create route, and the "
                    "list was empty): measured on the 404 answer"
                )
                expected.add(404)
            if route.method == "DELETE":
                expected.add(404)  # the first request deletes the record
            for name in route.path_params:
                path = path.replace("{" + name + "}", quote(str(key), safe=""))
        if route.method == "POST" and route.request:
            expected.add(409)  # the variants may run out of distinct keys
        # variant 0 is the record ``existing_key`` may have created
        bodies = tuple(self.body(route, i + 1) for i in range(count if route.request else 1))
        request = Request(route.method, path, self.query(route), bodies, frozenset(expected))
        return request, note


# --- load -------------------------------------------------------------------------------------


async def _send(client: LoopbackClient, request: Request, i: int = 0) -> Answer:
    return await client.request(request.method, request.path, request.params, request.body(i))


def load_size(rate: float, duration: float) -> int:
    """How many requests ``measure`` sends."""
    return max(int(rate * duration), MIN_REQUESTS)


async def measure(
    client: LoopbackClient, request: Request, rate: float, duration: float
) -> Measurement:
    """Send ``request`` at ``rate`` per second for ``duration`` seconds (open loop, at most
    ``MAX_IN_FLIGHT`` outstanding) and time every answer."""
    result = Measurement()
    count = load_size(rate, duration)
    slots = asyncio.Semaphore(MAX_IN_FLIGHT)

    async def one(i: int) -> None:
        try:
            sent = time.perf_counter()
            answer = await _send(client, request, i)
            result.latencies.append(time.perf_counter() - sent)
            result.statuses[answer.status] += 1
        except TRANSPORT_ERRORS as exc:
            result.errors[type(exc).__name__] += 1
        finally:
            slots.release()

    tasks = []
    start = time.perf_counter()
    deadline = start + duration * 3  # a service far slower than the rate is not waited for
    for i in range(count):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await slots.acquire()
        if time.perf_counter() > deadline:
            slots.release()
            break
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    result.seconds = time.perf_counter() - start
    result.sent = len(tasks)
    return result


async def backlog(client: LoopbackClient, metrics_path: str) -> float | None:
    """Messages waiting in the service's binding buffers (its ``channel_backlog`` gauges);
    None when it exports none (no dataflow) or its metrics path does not answer."""
    try:
        answer = await client.request("GET", metrics_path)
    except TRANSPORT_ERRORS:
        return None
    if answer.status != 200:
        return None
    values = [
        float(line.rsplit(" ", 1)[1])
        for line in answer.body.decode(errors="replace").splitlines()
        if line.startswith("channel_backlog{")
    ]
    return sum(values) if values else None


async def drain(
    client: LoopbackClient, metrics_path: str, timeout: float = DRAIN_TIMEOUT
) -> float | None:
    """Wait until the dataflow has taken every buffered message (so that the next route is
    not measured against the previous one's backlog); the messages still waiting after
    ``timeout`` seconds, or None when the service has no dataflow to watch."""
    deadline = time.perf_counter() + timeout
    while True:
        waiting = await backlog(client, metrics_path)
        if not waiting or time.perf_counter() > deadline:
            return waiting
        await asyncio.sleep(0.1)


# --- findings ---------------------------------------------------------------------------------


def _ms(value: float) -> str:
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


def judge(target: Target, request: Request, m: Measurement, result: TierResult) -> None:
    """Record the route's numbers and its findings."""
    location = target.location
    answered = sum(m.statuses.values())
    metrics: dict[str, Any] = {
        "operation": target.route.operation_id,
        "requests": m.sent,
        "offered_rps": round(target.rate, 1),
        "achieved_rps": round(m.rps, 1),
        "statuses": {str(s): n for s, n in sorted(m.statuses.items())},
    }
    if m.errors:
        metrics["errors"] = dict(m.errors)
    if m.drain is not None:
        metrics["drain_s"] = round(m.drain, 2)
        metrics["sustained_rps"] = round(m.sustained_rps or 0.0, 1)
    if m.waiting:
        metrics["backlog_after_drain"] = int(m.waiting)
    if m.latencies:
        for p in (50, 95, 99):
            metrics[f"p{p}_ms"] = round(m.percentile(p), 2)
    if target.slo.p95_ms is not None:
        metrics["budget_p95_ms"] = target.slo.p95_ms
    if target.slo.throughput_rps is not None:
        metrics["budget_rps"] = target.slo.throughput_rps
    result.metrics.setdefault("routes", {})[target.label] = metrics

    failed = sum(n for s, n in m.statuses.items() if s >= 500)
    if failed:
        first = min(s for s in m.statuses if s >= 500)
        result.findings.append(
            _error(
                "server-error-under-load",
                f"{target.label}: {failed} of {m.sent} requests answered {first} or another 5xx "
                "under load",
                location,
            )
        )
    if m.errors:
        kinds = ", ".join(sorted(m.errors))
        result.findings.append(
            _error(
                "request-failed-under-load",
                f"{target.label}: {sum(m.errors.values())} of {m.sent} requests got no answer "
                f"({kinds})",
                location,
            )
        )
    unexpected = {s: n for s, n in m.statuses.items() if s < 500 and s not in request.expected}
    if sum(unexpected.values()) * 2 > answered or not m.latencies:
        shown = ", ".join(f"{n}x {s}" for s, n in sorted(unexpected.items())) or "no answer"
        result.not_checked.append(
            f"{target.label}: the load's requests were not answered as a valid request is "
            f"({shown}); the budgets were not judged"
        )
        return
    p95 = m.percentile(95)
    budget = target.slo.p95_ms
    result.checked.append(
        f"{target.label}: {m.sent} requests at {target.rate:g} req/s: p50 "
        f"{_ms(m.percentile(50))} ms, p95 {_ms(p95)} ms, p99 {_ms(m.percentile(99))} ms, "
        f"{m.rps:.0f} req/s achieved"
    )
    if budget is not None and p95 > budget:
        result.findings.append(
            _error(
                "latency-budget",
                f"p95 of {target.label} is {_ms(p95)} ms, budget {budget:g} ms",
                location,
                hint=f"measured at {target.rate:g} req/s over {m.seconds:.1f} s on loopback",
            )
        )
    wanted = target.slo.throughput_rps
    sustained = m.sustained_rps
    if wanted is not None and m.rps < target.rate * TOLERANCE:
        result.findings.append(
            _error(
                "throughput-budget",
                f"{target.label} served {m.rps:.0f} req/s, budget {wanted:g} req/s",
                location,
                hint=f"offered {target.rate:g} req/s for {DURATION:g} s; at most "
                f"{MAX_IN_FLIGHT} requests in flight",
            )
        )
    elif wanted is not None and sustained is not None and (m.drain or 0.0) > DRAIN_GRACE:
        result.findings.append(
            _error(
                "throughput-budget",
                f"the dataflow behind {target.label} sustains {sustained:.0f} req/s, budget "
                f"{wanted:g} req/s: the route answered {m.rps:.0f} req/s but its messages "
                f"took {m.seconds + (m.drain or 0):.1f} s to process",
                location,
                hint=f"the buffers absorb a burst, not a sustained rate: the messages were "
                f"still being processed {m.drain or 0.0:.1f} s after the load ended (up to "
                f"{DRAIN_GRACE:g} s keeps up); see message_duration_seconds in /metrics for "
                "the slow step",
            )
        )
    if m.waiting:
        result.findings.append(
            Finding(
                code="dataflow-backlog",
                severity=Severity.WARNING,
                message=f"after the load on {target.label} the dataflow still had "
                f"{int(m.waiting)} message(s) waiting {DRAIN_TIMEOUT:g} s later",
                tier=NAME,
                location=location,
                hint="a step downstream is slower than the route's rate; the routes measured "
                "after it shared the machine with its backlog",
                rule_name="the dataflow does not keep up with a route's load",
            )
        )


def _error(code: str, message: str, location: Location, hint: str | None = None) -> Finding:
    names = {
        "latency-budget": "a route's p95 latency exceeds its budget",
        "throughput-budget": "a route does not sustain its throughput budget",
        "server-error-under-load": "a route answers 5xx under load",
        "request-failed-under-load": "a route does not answer under load",
    }
    return Finding(
        code=code,
        severity=Severity.ERROR,
        message=message,
        tier=NAME,
        location=location,
        hint=hint,
        rule_name=names.get(code),
    )


def targets(ctx: ValidateContext, result: TierResult) -> list[Target]:
    """The SLO routes, writes first; an SLO naming no route is recorded as not checked."""
    by_operation = {r.operation_id: (c, r) for c, r in _routes(ctx.ir)}
    found = []
    for slo in ctx.ir.policy.slos:
        if slo.route not in by_operation:
            result.not_checked.append(f"SLO {slo.route!r}: no route has this operation id")
            continue
        component, route = by_operation[slo.route]
        target = Target(
            slo, route, component, ctx.locate(slo.origin, f"route:{route.method} {route.path}")
        )
        if route.contract is not None:
            result.not_checked.append(
                f"SLO {slo.route!r}: an operation of an OpenAPI contract; the performance tier "
                "does not build requests for contract operations yet"
            )
            result.findings.append(
                Finding(
                    code="slo-not-measured",
                    severity=Severity.WARNING,
                    message=f"the budget of {target.label} was not measured: the performance "
                    "tier cannot yet build requests for operations of an OpenAPI contract",
                    tier=NAME,
                    location=target.location,
                    hint="measure it with your own load tool until the tier supports contracts",
                    rule_name="a performance budget the tier cannot measure",
                )
            )
            continue
        limit = target.rate_limit
        if slo.throughput_rps is not None and limit is not None and slo.throughput_rps > limit:
            result.findings.append(
                Finding(
                    code="slo-above-rate-limit",
                    severity=Severity.WARNING,
                    message=f"the throughput budget of {target.label} ({slo.throughput_rps:g} "
                    f"req/s) is above the rate limit of component {component.name!r} "
                    f"({limit:g} req/s): measured at the rate limit",
                    tier=NAME,
                    location=target.location,
                    hint="raise the component's rate_limit or lower the SLO's throughput_rps",
                    rule_name="a throughput budget the blueprint's own rate limit forbids",
                )
            )
        found.append(target)
    order = {"POST": 0, "GET": 1, "DELETE": 3}  # creates first so that reads find records
    return sorted(found, key=lambda t: order.get(t.route.method, 2))


async def _run_load(
    served: Served, ctx: ValidateContext, found: list[Target], result: TierResult
) -> None:
    client = LoopbackClient(served.base_url, served.headers(), MAX_IN_FLIGHT)
    try:
        builder = RequestBuilder(ctx.ir, client)
        for target in found:
            size = load_size(target.rate, DURATION)
            request, note = await builder.build(target.route, size + WARMUP)
            if note:
                result.findings.append(
                    Finding(
                        code="no-record-to-read",
                        severity=Severity.NOTE,
                        message=note,
                        tier=NAME,
                        location=target.location,
                        rule_name="a route's latency is measured on its 404 answer",
                    )
                )
            for i in range(size, size + WARMUP):
                try:
                    await _send(client, request, i)
                except TRANSPORT_ERRORS:
                    break
            measured = await measure(client, request, target.rate, DURATION)
            started = time.perf_counter()
            waiting = await drain(client, served.endpoints.metrics)
            if waiting is not None:
                measured.drain = time.perf_counter() - started
                measured.waiting = waiting
            judge(target, request, measured, result)
    finally:
        await client.aclose()


def run(ctx: ValidateContext) -> TierResult:
    started = time.perf_counter()
    result = TierResult(tier=NAME, status=Status.PASSED)
    found = targets(ctx, result) if ctx.ir.policy.slos else []
    if not ctx.ir.policy.slos:
        result.checked.append("no performance budgets in the blueprint")
    if found:
        try:
            with serve(ctx) as served:
                asyncio.run(_run_load(served, ctx, found, result))
            if line := served.partners.summary():
                result.checked.append(line)
        except ServeError as exc:
            result.findings.append(not_ready_finding(ctx, NAME, exc))
            result.not_checked.append("the load: not run, the service did not start")
        except (OSError, subprocess.CalledProcessError) as exc:
            result.not_checked.append(f"the service's interpreter is unusable: {exc}")
    result.seconds = time.perf_counter() - started
    return result.settle()

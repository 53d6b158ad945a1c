"""Partner stand-ins for the dynamic tiers, the load's distinct sample records, and findings
located at their blueprint line."""

from __future__ import annotations

import json
import re
import socket
import urllib.request
from pathlib import Path

import pytest

from autocoder.backends.python_service.samples import from_pattern, sample, type_sample
from autocoder.compiler import compile_source
from autocoder.ir.models import IR
from autocoder.validate.context import ValidateContext
from autocoder.validate.findings import Location
from autocoder.validate.serve import outside_findings
from autocoder.validate.standin import plan, stand_ins

ROOT = Path(__file__).resolve().parents[2]


def example_ir(name: str) -> IR:
    result = compile_source(ROOT / "examples" / name)
    assert result.ir is not None
    return result.ir


def test_the_dev_environment_partners_on_loopback_are_planned() -> None:
    orders = plan(example_ir("order-pipeline"), "dev")
    assert list(orders.addresses) == ["127.0.0.1:9090"]  # three webhooks, one address
    assert orders.outside == []
    telemetry = plan(example_ir("telemetry-alerts"), "dev")
    # the gateway poll answers one sample reading at the source's `items` path
    (answers,) = telemetry.addresses.values()
    body = answers["/api/v2/readings"]
    assert list(body) == ["data"] and len(body["data"]["readings"]) == 1
    assert set(body["data"]["readings"][0]) >= {"device_id", "temperature_c"}


def test_partners_outside_the_machine_are_reported_with_their_line(tmp_path: Path) -> None:
    ir = example_ir("order-pipeline")
    staging = plan(ir, "staging")
    assert {(o.component, o.purpose) for o in staging.outside} == {
        ("express-courier", "webhook"),
        ("eu-warehouse", "webhook"),
        ("global-warehouse", "webhook"),
    }
    # a system served as staging: its sandbox URL is an override in deployment.yaml
    for name in ("architecture.yaml", "deployment.yaml"):
        (tmp_path / name).write_bytes((ROOT / "examples" / "order-pipeline" / name).read_bytes())
    dev_less = ir.model_copy(
        update={"environments": [e for e in ir.environments if e.name != "dev"]}
    )
    ctx = ValidateContext(out=tmp_path, ir=dev_less)
    with stand_ins(dev_less, "prod") as partners:
        assert partners.listening == []
        findings = outside_findings(ctx, partners, "contract")
    by_component = {f.location.node: f for f in findings}
    courier = by_component["component:express-courier"]
    assert courier.code == "partner-not-stood-in" and courier.severity == "warning"
    assert "https://api.courier.example/v1/shipments" in courier.message
    assert courier.location.file == "architecture.yaml"  # prod keeps the blueprint's URL
    line = (tmp_path / "architecture.yaml").read_text().splitlines()[courier.location.line - 1]
    assert "express-courier" in line


def _post(url: str, body: dict[str, object]) -> int:
    request = urllib.request.Request(  # noqa: S310 - a loopback URL of the test
        url, data=json.dumps(body).encode(), method="POST"
    )
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 - loopback
        return int(answer.status)


def test_stand_ins_accept_webhooks_answer_polls_and_count() -> None:
    ir = example_ir("telemetry-alerts")
    env = next(e for e in ir.environments if e.name == "dev")
    override = next(o for o in env.overrides if o.component == "pager")
    with socket.socket() as probe:  # a free port for the pager's webhook
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    hook = {"webhook": {"url": f"http://127.0.0.1:{port}/v2/enqueue"}}
    pager = override.model_copy(update={"config": hook})
    overrides = [pager if o is override else o for o in env.overrides]
    environments = [
        e.model_copy(update={"overrides": overrides}) if e is env else e for e in ir.environments
    ]
    ir = ir.model_copy(update={"environments": environments})
    with stand_ins(ir, "dev") as partners:
        if "127.0.0.1:8081" in partners.busy:
            pytest.skip("127.0.0.1:8081 is taken on this machine")
        assert sorted(partners.listening) == sorted(["127.0.0.1:8081", f"127.0.0.1:{port}"])
        assert _post(f"http://127.0.0.1:{port}/v2/enqueue", {"alert": 1}) == 204
        assert _post(f"http://127.0.0.1:{port}/v2/enqueue", {"alert": 2}) == 204
        url = "http://127.0.0.1:8081/api/v2/readings"
        with urllib.request.urlopen(url, timeout=5) as answer:
            readings = json.load(answer)["data"]["readings"]
        assert len(readings) == 1
    assert partners.deliveries == {
        f"POST 127.0.0.1:{port}/v2/enqueue": 2,
        "GET 127.0.0.1:8081/api/v2/readings": 1,
    }
    summary = partners.summary()
    assert summary is not None and "3 request(s)" in summary


def test_an_address_in_use_is_left_to_its_listener() -> None:
    ir = example_ir("order-pipeline")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 9090))
        taken.listen()
        with stand_ins(ir, "dev") as partners:
            assert partners.listening == [] and partners.busy == ["127.0.0.1:9090"]
    assert partners.summary() == "127.0.0.1:9090 already in use: left to what listens there"


# --- distinct records for the load ------------------------------------------------------------


def test_pattern_variants_are_distinct_and_match() -> None:
    pattern = "^ORD-[0-9]{8}$"
    seen = {from_pattern(pattern, i) for i in range(500)}
    assert len(seen) == 500
    assert all(re.fullmatch(pattern[1:-1], text) for text in seen)
    assert from_pattern(pattern) == from_pattern(pattern, 0) == "ORD-00000000"
    assert from_pattern("[^x]+", 5) == from_pattern("[^x]+")  # no series: the first choice


def test_type_sample_variants_vary_keys_not_business_values() -> None:
    ir = example_ir("order-pipeline")
    types = {t.name: t for t in ir.types}
    base = type_sample("OrderSubmission", types)
    assert base["order_id"] == "ORD-20240917"  # variant 0: the schema's example
    varied = [type_sample("OrderSubmission", types, i) for i in range(1, 50)]
    assert len({v["order_id"] for v in varied}) == 49
    assert len({v["customer_email"] for v in varied}) == 49
    for record in varied:  # enums, amounts and times as in the typical record
        for field in ("region", "priority", "currency", "quantity", "total", "placed_at"):
            assert record[field] == base[field], field
    assert sample({"type": "string", "maxLength": 3}, {}, variant=7) == "sam"  # too short


def test_findings_on_ir_nodes_get_their_blueprint_line(tmp_path: Path) -> None:
    ir = example_ir("todo-api")
    (tmp_path / "architecture.yaml").write_bytes(
        (ROOT / "examples" / "todo-api" / "architecture.yaml").read_bytes()
    )
    ctx = ValidateContext(out=tmp_path, ir=ir)
    located = ctx.locate_node(Location(node="route:GET /v1/todos/{id}"))
    assert located.node == "route:GET /v1/todos/{id}" and located.file == "architecture.yaml"
    text = (tmp_path / "architecture.yaml").read_text().splitlines()
    route = "\n".join(text[located.line - 1 : located.line + 3])  # the route's mapping
    assert text[located.line - 1].strip() == "- method: GET" and "getTodo" in route
    assert ctx.locate_node(Location(node="route:nothing")) == Location(node="route:nothing")
    assert ctx.locate_node(Location(file="service/app/main.py", line=3)).line == 3

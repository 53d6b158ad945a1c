"""The shipped packs on their fixtures: every rule passes its hardened set and catches the same set
with one weakness, and nothing else in the pack fires on either."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from autocoder.backends.deploy.yamlout import load_all
from autocoder.policy import (
    Pack,
    Violation,
    dockerfile_pack,
    kubernetes_pack,
    parse_dockerfile,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SUFFIX = {"kubernetes": ".yaml", "dockerfile": ".Dockerfile"}
PACKS = {"kubernetes": kubernetes_pack, "dockerfile": dockerfile_pack}
BROKEN = ("rule could not be evaluated", "not true or false")


def documents(pack: str, path: Path) -> list[tuple[str, Any]]:
    text = path.read_text(encoding="utf-8")
    if pack == "kubernetes":
        return [(str(path), doc) for doc in load_all(text)]
    return [(str(path), parse_dockerfile(text))]


def fixture(pack: str, rule_id: str, outcome: str) -> Path:
    return FIXTURES / pack / rule_id / f"{outcome}{SUFFIX[pack]}"


CASES = [(pack, rule.id) for pack, load in PACKS.items() for rule in load().rules]


def _ids(violations: list[Violation]) -> list[str]:
    return sorted({v.rule.id for v in violations})


@pytest.mark.parametrize(("pack", "rule_id"), CASES)
def test_rule_passes_its_pass_fixture_and_catches_its_fail_fixture(pack: str, rule_id: str) -> None:
    load = PACKS[pack]
    passed = [v for v in load().check(documents(pack, fixture(pack, rule_id, "pass")))]
    assert passed == [], "\n".join(map(str, passed))

    failed = load().check(documents(pack, fixture(pack, rule_id, "fail")))
    assert [v for v in failed if v.rule.id == rule_id], f"{rule_id} missed its fail fixture"
    # The fixture has exactly one weakness: only this rule fires, and for the right reason.
    assert _ids(failed) == [rule_id], "\n".join(map(str, failed))
    assert not [v for v in failed if v.message.startswith(BROKEN)], "\n".join(map(str, failed))


@pytest.mark.parametrize(("pack", "rule_id"), [case for case in CASES if case[0] == "kubernetes"])
def test_kubernetes_pass_fixtures_exercise_their_rule(pack: str, rule_id: str) -> None:
    rule = kubernetes_pack().rule(rule_id)
    kinds = [doc["kind"] for _, doc in documents(pack, fixture(pack, rule_id, "pass"))]
    assert any(rule.applies_to(kind) for kind in kinds), f"no object of {rule.kinds} to check"


@pytest.mark.parametrize("pack", sorted(PACKS))
def test_every_rule_has_both_fixtures_and_every_fixture_names_a_rule(pack: str) -> None:
    rules = {rule.id for rule in PACKS[pack]().rules}
    folders = {p.name for p in (FIXTURES / pack).iterdir() if p.is_dir()}
    assert sorted(rules - folders) == [], "rules without fixtures"
    assert sorted(folders - rules) == [], "fixture folders naming no rule"
    for rule_id in rules:
        for outcome in ("pass", "fail"):
            assert fixture(pack, rule_id, outcome).is_file(), (rule_id, outcome)
        extra = {p.name for p in (FIXTURES / pack / rule_id).iterdir()} - {
            f"pass{SUFFIX[pack]}",
            f"fail{SUFFIX[pack]}",
        }
        assert extra == set(), (rule_id, extra)


def _environment(namespace: str) -> list[dict[str, Any]]:
    objects = [
        doc
        for _, doc in documents(
            "kubernetes", fixture("kubernetes", "k8s-hpa-target-exists", "pass")
        )
    ]
    for obj in objects:
        if obj["kind"] == "Namespace":
            obj["metadata"]["name"] = namespace
        else:
            obj["metadata"]["namespace"] = namespace
    return objects


def test_packs_evaluate_thirty_objects(record_property: Callable[[str, object], None]) -> None:
    """Three namespaces of ten objects each: timing is recorded, not asserted."""
    objects = [
        obj
        for ns in ("todo-api-dev", "todo-api-staging", "todo-api-prod")
        for obj in _environment(ns)
    ]
    assert len(objects) >= 30
    start = time.perf_counter()
    violations = kubernetes_pack().check([("env.yaml", obj) for obj in objects])
    elapsed = time.perf_counter() - start
    assert violations == [], "\n".join(map(str, violations))

    # Cross-object rules look in the object's own namespace only.
    weakened = copy.deepcopy(objects)
    weakened = [
        o
        for o in weakened
        if not (
            o["kind"] == "NetworkPolicy"
            and o["metadata"]["name"] == "default-deny"
            and o["metadata"]["namespace"] == "todo-api-staging"
        )
    ]
    found = kubernetes_pack().check([("env.yaml", obj) for obj in weakened])
    assert [(v.rule.id, v.subject) for v in found] == [
        ("k8s-networkpolicy-coverage", "Deployment/todo-api")
    ]
    record_property("kubernetes_pack_seconds_for_30_objects", round(elapsed, 3))


def _tool(name: str) -> str:
    """The tool on PATH or next to this interpreter; skip without it unless required."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    found = shutil.which(name, path=path)
    if found is None:
        message = f"{name} is not installed"
        if os.environ.get("AUTOCODER_REQUIRE_TOOLS") == "1":
            pytest.fail(message + "; AUTOCODER_REQUIRE_TOOLS=1 forbids skipping")
        pytest.skip(message)
    return found


def test_the_pass_dockerfile_is_clean_for_hadolint() -> None:
    """The Dockerfile fixture is realistic: hadolint finds nothing in it either."""
    hadolint = _tool("hadolint")
    path = fixture("dockerfile", "df-no-add", "pass")
    result = subprocess.run(
        [hadolint, "--no-color", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_pass_fixtures_are_valid_kubernetes() -> None:
    """The manifests of the pass fixtures validate against the Kubernetes schema (strict)."""
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    builtin = {"ExternalSecret"}  # a custom resource: not in the Kubernetes schema
    seen: set[str] = set()
    for folder in sorted((FIXTURES / "kubernetes").iterdir()):
        for _, obj in documents("kubernetes", folder / "pass.yaml"):
            key = f"{obj['kind']}/{obj['metadata']['name']}"
            if obj["kind"] in builtin or key in seen:
                continue
            seen.add(key)
            kubernetes_validate.validate(obj, kubernetes_validate.latest_version(), strict=True)
    assert {"Deployment/todo-api", "NetworkPolicy/default-deny", "Ingress/todo-api"} <= seen


def test_the_shipped_packs_are_loaded_once() -> None:
    assert kubernetes_pack() is kubernetes_pack()
    assert dockerfile_pack() is dockerfile_pack()
    assert isinstance(kubernetes_pack(), Pack)
    assert len(kubernetes_pack().rules) >= 20

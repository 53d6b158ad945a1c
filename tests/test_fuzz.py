"""Fuzzing the compiler: thousands of mutated blueprints, and it never raises.

Every outcome must be diagnostics, and every error past the load stage must point at a line.
HYPOTHESIS_PROFILE=thorough runs ten times as many examples.
"""

from __future__ import annotations

import copy
import io
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML
from tests_support import document_paths

from autocoder.compiler import compile_source
from autocoder.diagnostics import Severity, Stage

ROOT = Path(__file__).resolve().parents[1]
SEEDS = sorted(p.parent for p in (ROOT / "examples").glob("*/architecture.yaml"))
SCALE = 10 if os.environ.get("HYPOTHESIS_PROFILE") == "thorough" else 1
_YAML = YAML(typ="safe", pure=False)  # libyaml emitter: the fuzz loop is dump-heavy
_SEED_DATA = {
    seed.name: {
        n: _YAML.load((seed / n).read_text()) for n in ("architecture.yaml", "deployment.yaml")
    }
    for seed in SEEDS
}
NAMES = [
    "api",
    "todos",
    "orders",
    "in",
    "out",
    "x",
    "Todo",
    "validate.in",
    "intake.submitted",
    "store",
    "source",
    "GET",
    "/v1",
    "1s",
    "prod",
    "AC3019",
    "",
    "🙂",
    "a-b",
    "A_B",
    "class",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 10**6),
    st.sampled_from(NAMES),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
VALUES = st.recursive(
    SCALARS,
    lambda v: st.lists(v, max_size=3) | st.dictionaries(st.sampled_from(NAMES), v, max_size=3),
    max_leaves=8,
)


def _mutate(doc: Any, data: st.DataObject) -> Any:
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        paths = document_paths(doc)
        path = data.draw(st.sampled_from(paths), label="path")
        if not path:
            continue
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        action = data.draw(st.sampled_from(["set", "delete", "rename", "duplicate"]))
        key = path[-1]
        if action == "set":
            parent[key] = data.draw(VALUES, label="value")
        elif action == "delete":
            del parent[key]
        elif action == "rename" and isinstance(parent, dict):
            parent[data.draw(st.sampled_from(NAMES), label="new key")] = parent.pop(key)
        elif action == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
    return doc


def _check(source: Path) -> None:
    result = compile_source(source)  # must not raise
    for diagnostic in result.sink.diagnostics:
        assert diagnostic.span is not None and diagnostic.span.file, diagnostic
        if diagnostic.severity is Severity.ERROR and diagnostic.code.stage not in (
            Stage.LOAD,
            Stage.USAGE,
        ):
            assert diagnostic.span.line >= 1, diagnostic
    if result.ok:
        assert result.ir is not None and result.ir_text()


@pytest.mark.slow
@settings(
    max_examples=1400 * SCALE,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    data=st.data(),
    seed=st.sampled_from(sorted(_SEED_DATA)),
    target=st.sampled_from(["architecture.yaml", "deployment.yaml"]),
)
def test_mutated_blueprints_never_crash(data: st.DataObject, seed: str, target: str) -> None:
    docs = copy.deepcopy(_SEED_DATA[seed])
    docs[target] = _mutate(docs[target], data)
    with tempfile.TemporaryDirectory() as tmp:
        for name, doc in docs.items():
            buffer = io.StringIO()
            _YAML.dump(doc, buffer)
            (Path(tmp) / name).write_text(buffer.getvalue(), encoding="utf-8")
        _check(Path(tmp))


@pytest.mark.slow
@settings(max_examples=700 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(SEEDS),
    cut=st.integers(0, 5000),
    junk=st.binary(max_size=24),
    where=st.integers(0, 5000),
)
def test_damaged_text_never_crashes(seed: Path, cut: int, junk: bytes, where: int) -> None:
    raw = (seed / "architecture.yaml").read_bytes()
    raw = raw[: max(cut, 1)] if cut % 3 == 0 else raw
    raw = raw[:where] + junk + raw[where:]
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "architecture.yaml").write_bytes(raw)
        (Path(tmp) / "deployment.yaml").write_bytes((seed / "deployment.yaml").read_bytes())
        _check(Path(tmp))

"""The compiled fast path (jsonschema-rs) and the Python validator must agree on validity.

Only documents the fast path calls valid skip the Python validator, so a disagreement would
let an invalid blueprint through without diagnostics.
"""

from __future__ import annotations

import contextlib
import copy
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML
from tests_support import document_paths

from autocoder.frontend.schema_check import fast_validator_for, validator_for

ROOT = Path(__file__).resolve().parents[2]


def _starter(name: str) -> dict[str, Any]:
    text = (ROOT / "component_templates" / "init" / name).read_text(encoding="utf-8")
    data: dict[str, Any] = YAML(typ="safe", pure=True).load(text.replace("{{NAME}}", "notes"))
    return data


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(-2, 2, allow_nan=False),
    st.sampled_from(["", "x", "api", "store", "GET", "/p", "1s", "notes.create", "Note"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["kind", "type", "x", "routes"]), inner, max_size=3)
    ),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), which=st.sampled_from(["architecture", "deployment"]))
def test_fast_and_python_validators_agree(data: st.DataObject, which: str) -> None:
    doc = copy.deepcopy(_starter(f"{which}.yaml"))
    paths = document_paths(doc)[1:]
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if isinstance(parent, dict) and data.draw(st.booleans()):
            parent.pop(path[-1], None)
        elif isinstance(parent, (dict, list)):
            with contextlib.suppress(IndexError, KeyError):
                parent[path[-1]] = data.draw(VALUES)
        paths = document_paths(doc)[1:] or [("schema_version",)]
    schema = f"{which}.schema.json"
    fast = fast_validator_for(schema)
    assert fast is not None
    python_valid = not any(True for _ in validator_for(schema).iter_errors(doc))
    assert fast.is_valid(doc) == python_valid

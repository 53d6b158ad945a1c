"""Generate ``ir/v1.schema.json`` from the IR models (``python -m autocoder.ir.schema_gen``).

The file is committed; a test regenerates it and fails when it drifts from the models.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from autocoder.ir.models import IR, IR_MAJOR, IR_VERSION
from autocoder.resources import data_dir

SCHEMA_ID = f"https://schemas.autocoder.dev/ir/v{IR_MAJOR}.schema.json"


def ir_json_schema() -> dict[str, Any]:
    schema = IR.model_json_schema(by_alias=True, mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": f"Autocoder IR {IR_VERSION}",
        "description": "The compiled form of a system (ir.v1.json). Generated from "
        "autocoder/ir/models.py; see ir/README.md for the versioning rules.",
        **schema,
    }


def render() -> str:
    return json.dumps(ir_json_schema(), indent=2, sort_keys=True) + "\n"


def main() -> int:
    target = data_dir("ir") / f"v{IR_MAJOR}.schema.json"
    text = render()
    if "--check" in sys.argv:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != text:
            print(
                f"{target} is out of date; run python -m autocoder.ir.schema_gen", file=sys.stderr
            )
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Locate the data folders (schemas/, ir/, examples/, ...) shipped with Autocoder.

In a wheel they live in ``autocoder/_data/<name>``; in a source checkout (editable install,
tests) they are the top-level folders of the repository.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

_PACKAGE_DIR = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Return the folder holding the shipped data folder ``name``."""
    packaged = _PACKAGE_DIR / "_data" / name
    if packaged.is_dir():
        return packaged
    checkout = _PACKAGE_DIR.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"autocoder data folder {name!r} is missing from this installation")


@cache
def load_json_schema(name: str) -> dict[str, Any]:
    """Load ``schemas/<name>`` (cached; treat the result as read-only)."""
    with (data_dir("schemas") / name).open(encoding="utf-8") as fh:
        return json.load(fh)  # type: ignore[no-any-return]


def in_ci(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether this runs in CI (``CI=true`` or ``1``, as GitHub, GitLab and most CI systems set
    it): model answers come only from the lockfile, unaccepted assumptions are errors."""
    return environ.get("CI", "").strip().lower() in ("true", "1")

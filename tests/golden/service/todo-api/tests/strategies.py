"""Hypothesis strategies of the blueprint types: JSON values valid for each type.

Generated; do not edit: regenerate.
"""

from __future__ import annotations

import datetime
from typing import Any

from hypothesis import strategies as st

# JSON cannot carry lone surrogates, and PostgreSQL text cannot hold NUL.
TEXT_CHARACTERS = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")


def todo() -> st.SearchStrategy[dict[str, Any]]:
    """Valid `Todo` values."""
    return st.fixed_dictionaries(
        {
            "created_at": st.datetimes(timezones=st.just(datetime.UTC)).map(
                lambda d: d.isoformat()
            ),
            "done": st.booleans(),
            "id": st.uuids().map(str),
            "priority": st.sampled_from(["low", "normal", "high", "urgent"]),
            "title": st.text(alphabet=TEXT_CHARACTERS, min_size=1, max_size=40),
            "updated_at": st.datetimes(timezones=st.just(datetime.UTC)).map(
                lambda d: d.isoformat()
            ),
        },
        optional={
            "assignee": st.none() | st.emails(),
            "due_on": st.none() | st.dates().map(str),
            "labels": st.lists(
                st.from_regex("^[a-z0-9][a-z0-9-]*$", fullmatch=True).filter(
                    lambda s: 1 <= len(s) <= 32
                ),
                min_size=0,
                max_size=5,
                unique=True,
            ),
            "notes": st.text(alphabet=TEXT_CHARACTERS, max_size=40),
        },
    )


def todo_create() -> st.SearchStrategy[dict[str, Any]]:
    """Valid `TodoCreate` values."""
    return st.fixed_dictionaries(
        {"title": st.text(alphabet=TEXT_CHARACTERS, min_size=1, max_size=40)},
        optional={
            "assignee": st.none() | st.emails(),
            "done": st.booleans(),
            "due_on": st.none() | st.dates().map(str),
            "labels": st.lists(
                st.from_regex("^[a-z0-9][a-z0-9-]*$", fullmatch=True).filter(
                    lambda s: 1 <= len(s) <= 32
                ),
                min_size=0,
                max_size=5,
                unique=True,
            ),
            "notes": st.text(alphabet=TEXT_CHARACTERS, max_size=40),
            "priority": st.sampled_from(["low", "normal", "high", "urgent"]),
        },
    )


def todo_patch() -> st.SearchStrategy[dict[str, Any]]:
    """Valid `TodoPatch` values."""
    return st.fixed_dictionaries(
        {},
        optional={
            "assignee": st.none() | st.emails(),
            "done": st.booleans(),
            "due_on": st.none() | st.dates().map(str),
            "labels": st.lists(
                st.from_regex("^[a-z0-9][a-z0-9-]*$", fullmatch=True).filter(
                    lambda s: 1 <= len(s) <= 32
                ),
                min_size=0,
                max_size=5,
                unique=True,
            ),
            "notes": st.text(alphabet=TEXT_CHARACTERS, max_size=40),
            "priority": st.sampled_from(["low", "normal", "high", "urgent"]),
            "title": st.text(alphabet=TEXT_CHARACTERS, min_size=1, max_size=40),
        },
    )


def todo_stats() -> st.SearchStrategy[dict[str, Any]]:
    """Valid `TodoStats` values."""
    return st.fixed_dictionaries(
        {
            "by_priority": st.dictionaries(
                st.text(max_size=8), st.integers() | st.text(max_size=8), max_size=3
            ),
            "done": st.integers(min_value=0, max_value=9223372036854775807),
            "open": st.integers(min_value=0, max_value=9223372036854775807),
            "overdue": st.integers(min_value=0, max_value=9223372036854775807),
            "total": st.integers(min_value=0, max_value=9223372036854775807),
        }
    )

"""Tables of todo-api, one per store. Generated from the blueprint; do not edit: regenerate."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# store `todos`: entity Todo, key `id` (uuid)
todos = sa.Table(
    "todos",
    metadata,
    sa.Column("assignee", sa.Text(), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("done", sa.Boolean(), nullable=False),
    sa.Column("due_on", sa.Date(), nullable=True),
    sa.Column("id", sa.Uuid(as_uuid=True), primary_key=True),
    sa.Column("labels", sa.JSON(), nullable=False),
    sa.Column("notes", sa.String(4000), nullable=False),
    sa.Column("priority", sa.String(6), nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_todos_due_on", "due_on"),
    sa.Index("ix_todos_assignee", "assignee"),
    sa.Index("ix_todos_done_priority", "done", "priority"),
)

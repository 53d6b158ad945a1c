"""The schema of todo-api 1.4.0: one table per store. Generated; do not edit.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "todos",
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
    )
    op.create_index("ix_todos_due_on", "todos", ["due_on"])
    op.create_index("ix_todos_assignee", "todos", ["assignee"])
    op.create_index("ix_todos_done_priority", "todos", ["done", "priority"])


def downgrade() -> None:
    op.drop_table("todos")

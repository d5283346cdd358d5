"""Requests to join the programme without an invitation link (issue 13).

Revision ID: 0008_i13
Revises: 0008_i14
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.types import EncryptedText, UtcDateTime

revision = "0008_i13"
down_revision = "0008_i14"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "join_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("region_code", sa.String(length=32), nullable=True),
        sa.Column("first_name", EncryptedText(), nullable=True),
        sa.Column("release", sa.String(length=16), nullable=True),
        sa.Column("note", EncryptedText(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_join_requests_user_id"), "join_requests", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_join_requests_user_id"), table_name="join_requests")
    op.drop_table("join_requests")

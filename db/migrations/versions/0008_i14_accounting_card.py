"""The case's accounting card (Appendix 6) and the protocol's free fields.

Revision ID: 0008_i14
Revises: 0008_i15
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.types import EncryptedJSON, UtcDateTime

revision = "0008_i14"
down_revision = "0008_i15"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounting_cards",
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("territory", sa.String(length=120), nullable=True),
        sa.Column("institution", sa.String(length=120), nullable=True),
        sa.Column("source", sa.SmallInteger(), nullable=True),
        sa.Column("conflict_type", sa.SmallInteger(), nullable=True),
        sa.Column("nature", sa.SmallInteger(), nullable=True),
        sa.Column("earlier", sa.SmallInteger(), nullable=True),
        sa.Column("participants", sa.SmallInteger(), nullable=True),
        sa.Column("representatives", sa.SmallInteger(), nullable=True),
        sa.Column("situation_date", sa.Date(), nullable=True),
        sa.Column("handed_date", sa.Date(), nullable=True),
        sa.Column("result", sa.String(length=24), nullable=True),
        sa.Column("no_result_reason", sa.SmallInteger(), nullable=True),
        sa.Column("report_date", sa.Date(), nullable=True),
        sa.Column("protocol", EncryptedJSON(), nullable=True),
        sa.Column("updated_by", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("accounting_cards")

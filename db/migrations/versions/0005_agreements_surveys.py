"""Agreements (items, responsibles, acknowledgements, check-ins) and surveys (invites; answers kept apart).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.types import EncryptedText, UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "survey_answers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("survey", sa.String(length=32), nullable=False),
        sa.Column("question", sa.String(length=32), nullable=False),
        sa.Column("stage", sa.SmallInteger(), nullable=True),
        sa.Column("region_code", sa.String(length=32), nullable=True),
        sa.Column("score", sa.SmallInteger(), nullable=True),
        sa.Column("choice", sa.String(length=32), nullable=True),
        sa.Column("text", EncryptedText(), nullable=True),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_answers")),
    )
    with op.batch_alter_table("survey_answers", schema=None) as batch_op:
        batch_op.create_index("ix_survey_answers_survey_question", ["survey", "question"], unique=False)

    op.create_table(
        "agreements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("recorded_by", sa.BigInteger(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("consequences", EncryptedText(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("ended_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_agreements_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreements")),
    )
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agreements_case_id"), ["case_id"], unique=False)

    op.create_table(
        "survey_invites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("survey", sa.String(length=32), nullable=False),
        sa.Column("ref", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("question", sa.SmallInteger(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_survey_invites_case_id_cases"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_invites")),
        sa.UniqueConstraint("user_id", "survey", "ref", name="uq_survey_once"),
    )
    with op.batch_alter_table("survey_invites", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_survey_invites_user_id"), ["user_id"], unique=False)

    op.create_table(
        "agreement_acks",
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("comment", EncryptedText(), nullable=True),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["agreements.id"],
            name=op.f("fk_agreement_acks_agreement_id_agreements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_agreement_acks_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agreement_id", "participant_id", name=op.f("pk_agreement_acks")),
    )
    op.create_table(
        "agreement_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("text", EncryptedText(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("repeat", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["agreements.id"],
            name=op.f("fk_agreement_items_agreement_id_agreements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreement_items")),
    )
    with op.batch_alter_table("agreement_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agreement_items_agreement_id"), ["agreement_id"], unique=False)

    op.create_table(
        "agreement_checkins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("answered_at", UtcDateTime(), nullable=True),
        sa.Column("escalated_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["agreement_items.id"],
            name=op.f("fk_agreement_checkins_item_id_agreement_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_agreement_checkins_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreement_checkins")),
        sa.UniqueConstraint("item_id", "participant_id", "due_date", name="uq_checkin_once"),
    )
    with op.batch_alter_table("agreement_checkins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agreement_checkins_item_id"), ["item_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_agreement_checkins_participant_id"), ["participant_id"], unique=False)

    op.create_table(
        "agreement_item_people",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["agreement_items.id"],
            name=op.f("fk_agreement_item_people_item_id_agreement_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_agreement_item_people_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", "participant_id", name=op.f("pk_agreement_item_people")),
    )


def downgrade() -> None:
    op.drop_table("agreement_item_people")
    with op.batch_alter_table("agreement_checkins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agreement_checkins_participant_id"))
        batch_op.drop_index(batch_op.f("ix_agreement_checkins_item_id"))

    op.drop_table("agreement_checkins")
    with op.batch_alter_table("agreement_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agreement_items_agreement_id"))

    op.drop_table("agreement_items")
    op.drop_table("agreement_acks")
    with op.batch_alter_table("survey_invites", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_invites_user_id"))

    op.drop_table("survey_invites")
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agreements_case_id"))

    op.drop_table("agreements")
    with op.batch_alter_table("survey_answers", schema=None) as batch_op:
        batch_op.drop_index("ix_survey_answers_survey_question")

    op.drop_table("survey_answers")

"""Forgetting that forgets: recent message ids (for "hide the chat"), the discreet option, and an
audit log that lets exactly one kind of UPDATE through — replacing a person's Telegram id by her
pseudonym after "delete my data".

The triggers still refuse every DELETE, and every UPDATE except one that changes nothing but
``actor_id`` from a Telegram id (positive) to a pseudonym (negative), and/or ``object_id`` of a
``user`` row from a Telegram id to a pseudonym ("-…"). The time, the action, the object type and
the details cannot change, and a pseudonym is never rewritten again.

Revision ID: 0008_i15
Revises: 0008_i19
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.types import UtcDateTime

revision = "0008_i15"
down_revision = "0008_i19"
branch_labels = None
depends_on = None

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
        AND NEW.id = OLD.id
        AND NEW.at = OLD.at
        AND NEW.action = OLD.action
        AND NEW.object_type IS NOT DISTINCT FROM OLD.object_type
        AND NEW.details::text IS NOT DISTINCT FROM OLD.details::text
        AND (NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id OR (OLD.actor_id > 0 AND NEW.actor_id < 0))
        AND (
            NEW.object_id IS NOT DISTINCT FROM OLD.object_id
            OR (OLD.object_type = 'user' AND OLD.object_id NOT LIKE '-%' AND NEW.object_id LIKE '-%')
        )
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$
"""

_PG_FUNCTION_BEFORE = """
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$
"""

_SQLITE_UPDATE = """
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
WHEN NOT (
    NEW.id = OLD.id
    AND NEW.at IS OLD.at
    AND NEW.action IS OLD.action
    AND NEW.object_type IS OLD.object_type
    AND NEW.details IS OLD.details
    AND (NEW.actor_id IS OLD.actor_id OR (OLD.actor_id > 0 AND NEW.actor_id < 0))
    AND (
        NEW.object_id IS OLD.object_id
        OR (OLD.object_type = 'user' AND OLD.object_id NOT LIKE '-%' AND NEW.object_id LIKE '-%')
    )
)
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END
"""


def upgrade() -> None:
    op.create_table(
        "recent_messages",
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("sent_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", "message_id", name=op.f("pk_recent_messages")),
    )
    op.create_index(op.f("ix_recent_messages_sent_at"), "recent_messages", ["sent_at"], unique=False)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("discreet", sa.Boolean(), server_default=sa.false(), nullable=False))
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(_PG_FUNCTION)
    elif dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute(_SQLITE_UPDATE)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(_PG_FUNCTION_BEFORE)
    elif dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute(
            "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("discreet")
    op.drop_index(op.f("ix_recent_messages_sent_at"), table_name="recent_messages")
    op.drop_table("recent_messages")

"""every SMS received is recorded before it is handled

Residents, feature phones and officers text the command centre through Gammu SMSD or an HTTP provider: each message
is kept (sender, text, the gateway and its own id for it, so one delivered twice is handled once), with the handler
that took it and the reply sent.

Revision ID: 5e2b7c9a4d18
Revises: 3f9a6c1e8b57
Create Date: 2026-12-04 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import siaga.db

revision: str = "5e2b7c9a4d18"
down_revision: str | None = "3f9a6c1e8b57"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sms_inbound",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("gateway", sa.String(length=16), nullable=False),
        sa.Column("gateway_id", sa.String(length=200), nullable=False),
        sa.Column("sender", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("received_at", siaga.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", siaga.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("handler", sa.String(length=64), nullable=True),
        sa.Column("reply", sa.Text(), nullable=False),
        sa.Column("reply_message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("handled_at", siaga.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["reply_message_id"],
            ["outbound_messages.id"],
            name=op.f("fk_sms_inbound_reply_message_id_outbound_messages"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_inbound")),
        sa.UniqueConstraint("gateway", "gateway_id", name=op.f("uq_sms_inbound_gateway")),
    )
    with op.batch_alter_table("sms_inbound", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sms_inbound_sender"), ["sender"], unique=False)
        batch_op.create_index(batch_op.f("ix_sms_inbound_handled_at"), ["handled_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sms_inbound", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sms_inbound_handled_at"))
        batch_op.drop_index(batch_op.f("ix_sms_inbound_sender"))
    op.drop_table("sms_inbound")

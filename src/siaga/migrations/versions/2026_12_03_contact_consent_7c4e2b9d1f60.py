"""emergency contacts' consent, and alarms per contact number per day

Revision ID: 7c4e2b9d1f60
Revises: 5d7e9a1c3b28
Create Date: 2026-12-03 21:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import siaga.db

revision: str = "7c4e2b9d1f60"
down_revision: str | None = "5d7e9a1c3b28"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contact_consents",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("resident_id", sa.Uuid(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("requested_at", siaga.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("unconfirmed_alarm_at", siaga.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_at", siaga.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", siaga.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_contact_consents_resident_id_residents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_consents")),
        sa.UniqueConstraint("code", name=op.f("uq_contact_consents_code")),
        sa.UniqueConstraint("resident_id", "phone", name=op.f("uq_contact_consents_resident_id")),
    )
    op.create_index(op.f("ix_contact_consents_resident_id"), "contact_consents", ["resident_id"], unique=False)
    op.create_table(
        "contact_sms_days",
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("phone", "day", name=op.f("pk_contact_sms_days")),
    )


def downgrade() -> None:
    op.drop_table("contact_sms_days")
    op.drop_index(op.f("ix_contact_consents_resident_id"), table_name="contact_consents")
    op.drop_table("contact_consents")

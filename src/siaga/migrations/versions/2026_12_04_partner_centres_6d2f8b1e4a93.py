"""Partner centres: alerts handed over as EIDO (an outbox with every try), and partners' incidents taken in

A partner (a city's 112 centre, another Siaga) has a URL, two sealed Standard Webhooks secrets and a caller row of
its own; a handover keeps the EIDO sent and the partner's acknowledgement; a partner's incident maps to the alert it
became, and each signed message it sent is kept by its webhook-id (a replay is answered, never applied twice).

Revision ID: 6d2f8b1e4a93
Revises: e7a4c2d9f318
Create Date: 2026-12-04 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import siaga.db

revision: str = "6d2f8b1e4a93"
down_revision: str | None = "e7a4c2d9f318"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "partners",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("outgoing_secret", sa.String(length=300), nullable=False),
        sa.Column("incoming_secret", sa.String(length=300), nullable=False),
        sa.Column("agency_ids", sa.JSON(), nullable=False),
        sa.Column("share_caller", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("resident_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", siaga.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["residents.id"], name=op.f("fk_partners_resident_id_residents"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partners")),
        sa.UniqueConstraint("name", name=op.f("uq_partners_name")),
    )
    op.create_table(
        "partner_handovers",
        sa.Column("id", BIGINT, autoincrement=True, nullable=False),
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("eido", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("requested_at", siaga.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", siaga.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("acknowledged_at", siaga.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("partner_reference", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_partner_handovers_alert_id_alerts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_partner_handovers_partner_id_partners"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_handovers")),
        sa.UniqueConstraint("message_id", name=op.f("uq_partner_handovers_message_id")),
    )
    op.create_index(op.f("ix_partner_handovers_alert_id"), "partner_handovers", ["alert_id"], unique=False)
    op.create_index(op.f("ix_partner_handovers_partner_id"), "partner_handovers", ["partner_id"], unique=False)
    op.create_index("ix_partner_handovers_due", "partner_handovers", ["status", "next_attempt_at"], unique=False)
    op.create_table(
        "partner_handover_attempts",
        sa.Column("id", BIGINT, autoincrement=True, nullable=False),
        sa.Column("handover_id", BIGINT, nullable=False),
        sa.Column("at", siaga.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["handover_id"],
            ["partner_handovers.id"],
            name=op.f("fk_partner_handover_attempts_handover_id_partner_handovers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_handover_attempts")),
    )
    op.create_index(
        op.f("ix_partner_handover_attempts_handover_id"), "partner_handover_attempts", ["handover_id"], unique=False
    )
    op.create_table(
        "partner_incidents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.String(length=255), nullable=False),
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("received_at", siaga.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", siaga.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_partner_incidents_alert_id_alerts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_partner_incidents_partner_id_partners"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_incidents")),
        sa.UniqueConstraint("partner_id", "incident_id", name=op.f("uq_partner_incidents_partner_id")),
    )
    op.create_index(op.f("ix_partner_incidents_alert_id"), "partner_incidents", ["alert_id"], unique=False)
    op.create_table(
        "partner_messages",
        sa.Column("id", BIGINT, autoincrement=True, nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("body_hash", sa.String(length=64), nullable=False),
        sa.Column("incident_id", sa.String(length=255), nullable=False),
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("received_at", siaga.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_partner_messages_partner_id_partners"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_messages")),
        sa.UniqueConstraint("partner_id", "message_id", name=op.f("uq_partner_messages_partner_id")),
    )


def downgrade() -> None:
    op.drop_table("partner_messages")
    op.drop_index(op.f("ix_partner_incidents_alert_id"), table_name="partner_incidents")
    op.drop_table("partner_incidents")
    op.drop_index(op.f("ix_partner_handover_attempts_handover_id"), table_name="partner_handover_attempts")
    op.drop_table("partner_handover_attempts")
    op.drop_index("ix_partner_handovers_due", table_name="partner_handovers")
    op.drop_index(op.f("ix_partner_handovers_partner_id"), table_name="partner_handovers")
    op.drop_index(op.f("ix_partner_handovers_alert_id"), table_name="partner_handovers")
    op.drop_table("partner_handovers")
    op.drop_table("partners")

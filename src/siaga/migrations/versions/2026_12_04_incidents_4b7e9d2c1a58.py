"""Incidents: alerts about one event linked together

Staff link several alerts about one event (a fight seen by five people, one fire) into an incident and split them
again; ``alerts.incident_id`` says which incident an alert is in now, each alert keeping its own state and timeline.

Revision ID: 4b7e9d2c1a58
Revises: 6d2f8b1e4a93
Create Date: 2026-12-04 15:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import siaga.db

revision: str = "4b7e9d2c1a58"
down_revision: str | None = "6d2f8b1e4a93"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("created_at", siaga.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_by_name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["staff.id"], name=op.f("fk_incidents_created_by_id_staff"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("incident_id", sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f("ix_alerts_incident_id"), ["incident_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_alerts_incident_id_incidents"), "incidents", ["incident_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_alerts_incident_id_incidents"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_alerts_incident_id"))
        batch_op.drop_column("incident_id")
    op.drop_table("incidents")

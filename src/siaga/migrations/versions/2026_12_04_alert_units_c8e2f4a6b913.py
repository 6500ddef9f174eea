"""Several units on one alert: the alert's units, backup offers, and officers' requests for more units

``alert_units`` holds every unit on an alert with its own state and times: the lead (the alert's ``unit_id``) and
the backups added by the responsible agency or an informed one. An offer says which place it is for (``slot``: 0
the lead, n the n-th backup). ``alerts.unit_requests`` holds the officers' open requests for backup or an ambulance.
Alerts dispatched before this have their lead unit's row added.

Revision ID: c8e2f4a6b913
Revises: 9c3e5a7b1d24
Create Date: 2026-12-04 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import siaga.db

revision: str = "c8e2f4a6b913"
down_revision: str | None = "9c3e5a7b1d24"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert_units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("added_by", sa.String(length=200), nullable=False),
        sa.Column("added_at", siaga.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("assigned_at", siaga.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("en_route_at", siaga.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("on_scene_at", siaga.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("released_at", siaga.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_alert_units_agency_id_agencies"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_units_alert_id_alerts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_alert_units_unit_id_units"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_units")),
        sa.UniqueConstraint("alert_id", "unit_id", name=op.f("uq_alert_units_alert_id")),
    )
    with op.batch_alter_table("alert_units", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_units_alert_id"), ["alert_id"], unique=False)
        batch_op.create_index("ix_alert_units_unit_state", ["unit_id", "state"], unique=False)
    with op.batch_alter_table("alert_offers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("slot", sa.Integer(), server_default=sa.text("0"), nullable=False))
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unit_requests", sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
    # The lead unit of every alert dispatched so far, in the alert's state (released once it closed).
    op.execute(
        """
        INSERT INTO alert_units (alert_id, unit_id, agency_id, role, state, slot, added_by, added_at, assigned_at,
                                 en_route_at, on_scene_at, released_at)
        SELECT a.id, a.unit_id, u.agency_id, 'lead',
               CASE WHEN a.state IN ('en_route', 'on_scene') THEN a.state
                    WHEN a.state IN ('resolved', 'cancelled') THEN 'released' ELSE 'assigned' END,
               0, '', COALESCE(a.dispatched_at, a.created_at), COALESCE(a.dispatched_at, a.created_at),
               a.en_route_at, a.on_scene_at, a.closed_at
        FROM alerts a JOIN units u ON u.id = a.unit_id
        WHERE a.unit_id IS NOT NULL
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_column("unit_requests")
    with op.batch_alter_table("alert_offers", schema=None) as batch_op:
        batch_op.drop_column("slot")
    with op.batch_alter_table("alert_units", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_units_unit_state")
        batch_op.drop_index(batch_op.f("ix_alert_units_alert_id"))
    op.drop_table("alert_units")

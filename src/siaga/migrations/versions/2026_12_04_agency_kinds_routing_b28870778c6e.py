"""agencies of every kind, routed by the alert's category

Damkar, PSC 119, BPBD and the city call centre join the police kinds. Each agency that is not police serves a
service area (``service_areas``: its own polygon, or the kecamatan it covers); the routing table
(``routing_rules``, an administrator's rows over the built-in defaults) sends each category to services in order.
An alert keeps its one responsible agency (``alerts.agency_id``) and lists the agencies informed besides it
(``alerts.informed_agency_ids``, and ``alert_agencies`` for queries by agency). Alerts from before informed nobody.

Revision ID: b28870778c6e
Revises: b3e8d5a1c904
Create Date: 2026-12-04 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import siaga.db

revision: str = "b28870778c6e"
down_revision: str | None = "b3e8d5a1c904"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "service_areas",
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("geometry", sa.JSON(), nullable=True),
        sa.Column("kecamatan", sa.JSON(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("updated_at", siaga.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_service_areas_agency_id_agencies"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("agency_id", name=op.f("pk_service_areas")),
    )
    op.create_table(
        "routing_rules",
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("services", sa.JSON(), nullable=False),
        sa.Column("updated_at", siaga.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("category", name=op.f("pk_routing_rules")),
    )
    op.create_table(
        "alert_agencies",
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_alert_agencies_agency_id_agencies"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_agencies_alert_id_alerts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("alert_id", "agency_id", name=op.f("pk_alert_agencies")),
    )
    op.create_index(op.f("ix_alert_agencies_agency_id"), "alert_agencies", ["agency_id"], unique=False)
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("informed_agency_ids", sa.JSON(), server_default=sa.text("'[]'"), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_column("informed_agency_ids")
    op.drop_index(op.f("ix_alert_agencies_agency_id"), table_name="alert_agencies")
    op.drop_table("alert_agencies")
    op.drop_table("routing_rules")
    op.drop_table("service_areas")

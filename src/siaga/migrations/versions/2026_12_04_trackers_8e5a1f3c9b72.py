"""GPS trackers and Traccar Client phones, each bound to a resident or a unit

A tracker reports over the OsmAnd protocol with its own identifier: a resident's tracker raises their SOS on
``alarm=sos``, a unit's tracker moves the unit. Administrators keep the registry; a disabled tracker is refused.

Revision ID: 8e5a1f3c9b72
Revises: 5e2b7c9a4d18
Create Date: 2026-12-04 12:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import siaga.db

revision: str = "8e5a1f3c9b72"
down_revision: str | None = "5e2b7c9a4d18"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "trackers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("resident_id", sa.Uuid(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", siaga.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("(resident_id IS NULL) <> (unit_id IS NULL)", name=op.f("ck_trackers_one_holder")),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["residents.id"], name=op.f("fk_trackers_resident_id_residents"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_trackers_unit_id_units"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trackers")),
        sa.UniqueConstraint("device_id", name=op.f("uq_trackers_device_id")),
    )
    op.create_index(op.f("ix_trackers_resident_id"), "trackers", ["resident_id"], unique=False)
    op.create_index(op.f("ix_trackers_unit_id"), "trackers", ["unit_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_trackers_unit_id"), table_name="trackers")
    op.drop_index(op.f("ix_trackers_resident_id"), table_name="trackers")
    op.drop_table("trackers")

"""officers' open streams, as every process sees them

An offer goes by SMS to an officer whose phone has no open officer stream. With several Siaga processes the stream
may be open on another one than the process making the offer, so each process keeps a row per officer whose stream
it holds (``officer_streams``), renewed while it is open and removed when it closes.

Revision ID: b3e8d5a1c904
Revises: a7d3f1c8e295
Create Date: 2026-12-04 12:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import siaga.db

revision: str = "b3e8d5a1c904"
down_revision: str | None = "a7d3f1c8e295"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "officer_streams",
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("seen_at", siaga.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_officer_streams_staff_id_staff"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("staff_id", name=op.f("pk_officer_streams")),
    )


def downgrade() -> None:
    op.drop_table("officer_streams")

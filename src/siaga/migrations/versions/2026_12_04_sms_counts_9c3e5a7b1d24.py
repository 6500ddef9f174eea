"""SMS limits counted in the database, for every process at once

Replies to inbound SMS are limited against SMS pumping (per number an hour, per destination country a day, in all a
day, and the day's spend): each limit is a row per window, raised by one atomic statement, so two processes never
both send the last message a limit allows.

Revision ID: 9c3e5a7b1d24
Revises: a3d5f7c9e1b2
Create Date: 2026-12-04 17:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import siaga.db

revision: str = "9c3e5a7b1d24"
down_revision: str | None = "a3d5f7c9e1b2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sms_counts",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("window_start", siaga.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.Column("expires_at", siaga.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name=op.f("pk_sms_counts")),
    )
    with op.batch_alter_table("sms_counts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sms_counts_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sms_counts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sms_counts_expires_at"))
    op.drop_table("sms_counts")

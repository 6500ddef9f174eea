"""repeated presses join the resident's active alert

Revision ID: 8d2a4e6f1b39
Revises: 3b1f0c9d7e21
Create Date: 2026-12-03 17:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import siaga.db

revision: str = "8d2a4e6f1b39"
down_revision: str | None = "3b1f0c9d7e21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("press_count", sa.Integer(), server_default=sa.text("1"), nullable=False))
    op.create_table(
        "alert_presses",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("received_at", siaga.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("battery", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_presses_alert_id_alerts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_presses")),
    )
    with op.batch_alter_table("alert_presses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_presses_alert_id"), ["alert_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("alert_presses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_presses_alert_id"))
    op.drop_table("alert_presses")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_column("press_count")

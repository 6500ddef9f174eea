"""alerts waiting for a unit, indexed by place

Revision ID: e5b8c2a7d4f1
Revises: 7c4e2b9d1f60
Create Date: 2026-12-03 21:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "e5b8c2a7d4f1"
down_revision: str | None = "7c4e2b9d1f60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index("ix_alerts_waiting_for_units", ["offer_ring", "state", "lat"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_waiting_for_units")

"""alerts indexed by the alert they follow

Deleting an alert makes the database look up the alerts whose ``follows_id`` names it (the foreign key's ``ON DELETE
SET NULL``). Without an index that was a scan of every alert per deleted row: purging or emptying 20,000 alerts took
minutes on SQLite and seconds on PostgreSQL.

Revision ID: 9c3f5a7b2d10
Revises: e5b8c2a7d4f1
Create Date: 2026-12-04 01:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "9c3f5a7b2d10"
down_revision: str | None = "e5b8c2a7d4f1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index("ix_alerts_follows_id", ["follows_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_follows_id")

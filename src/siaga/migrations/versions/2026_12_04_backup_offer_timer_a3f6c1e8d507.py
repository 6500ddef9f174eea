"""Backup offers run out: the alert's timer for the first of its backups' pending offers to expire

A backup's place offered to units waits no longer than a lead's offer: ``alerts.backup_due_at`` is when the first
pending backup offer of the alert runs out, read from its index by the timer sweep. Pending backup offers made
before this get their timer from their own expiry.

Revision ID: a3f6c1e8d507
Revises: d7b3e9f1a246
Create Date: 2026-12-04 18:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import siaga.db

revision: str = "a3f6c1e8d507"
down_revision: str | None = "d7b3e9f1a246"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("backup_due_at", siaga.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_alerts_backup_due_at"), ["backup_due_at"], unique=False)
    op.execute(
        """
        UPDATE alerts SET backup_due_at = (
            SELECT MIN(o.expires_at) FROM alert_offers o
            WHERE o.alert_id = alerts.id AND o.state = 'pending' AND o.slot > 0
        )
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_backup_due_at"))
        batch_op.drop_column("backup_due_at")

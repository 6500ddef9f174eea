"""alerts remember the channel they came in by

Every alert is raised through one use case, from the app today and from SMS, fixed panic buttons and GPS trackers
next: ``alerts.channel`` says which (``app``, ``sms``, ``device``, ``tracker``), for the console and the reports.
Alerts from before were all pressed in the app.

Revision ID: d4c8e1f2a6b3
Revises: b7e4d2a9c615
Create Date: 2026-12-04 11:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d4c8e1f2a6b3"
down_revision: str | None = "b7e4d2a9c615"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel", sa.String(length=16), server_default="app", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_column("channel")

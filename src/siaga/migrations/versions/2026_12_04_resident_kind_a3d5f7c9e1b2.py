"""Residents' rows say what they stand for: a person, or the caller row of a site, a partner centre or a unit

Every alert is raised by a row of ``residents``; fixed panic buttons' sites and partner centres raise theirs by a
caller row of their own, which the reports counted as residents. The existing caller rows are marked by the table
that holds them.

Revision ID: a3d5f7c9e1b2
Revises: 4b7e9d2c1a58
Create Date: 2026-12-04 17:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a3d5f7c9e1b2"
down_revision: str | None = "4b7e9d2c1a58"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("residents") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=10), server_default="person", nullable=False))
    op.execute("UPDATE residents SET kind = 'site' WHERE id IN (SELECT resident_id FROM device_sites)")
    op.execute("UPDATE residents SET kind = 'partner' WHERE id IN (SELECT resident_id FROM partners)")


def downgrade() -> None:
    with op.batch_alter_table("residents") as batch:
        batch.drop_column("kind")

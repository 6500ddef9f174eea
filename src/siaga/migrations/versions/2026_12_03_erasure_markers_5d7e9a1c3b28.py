"""erasure markers: a resident whose account was deleted, an alert whose personal details were removed

Revision ID: 5d7e9a1c3b28
Revises: a91d3e5c7b42
Create Date: 2026-12-03 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import siaga.db

revision: str = "5d7e9a1c3b28"
down_revision: str | None = "a91d3e5c7b42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("residents") as batch:
        batch.add_column(sa.Column("deleted_at", siaga.db.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("details_removed_at", siaga.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("details_removed_at")
    with op.batch_alter_table("residents") as batch:
        batch.drop_column("deleted_at")

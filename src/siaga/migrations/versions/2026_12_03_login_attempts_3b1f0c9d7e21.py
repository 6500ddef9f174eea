"""login attempts counted atomically

Revision ID: 3b1f0c9d7e21
Revises: f6c50de8775e
Create Date: 2026-12-03 18:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import siaga.db

revision: str = "3b1f0c9d7e21"
down_revision: str | None = "f6c50de8775e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_attempts",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("window_start", siaga.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_attempts")),
    )


def downgrade() -> None:
    op.drop_table("login_attempts")

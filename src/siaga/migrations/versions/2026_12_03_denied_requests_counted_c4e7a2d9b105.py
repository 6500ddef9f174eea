"""refused requests counted per caller and minute, for the audit log's denied records

Revision ID: c4e7a2d9b105
Revises: 8d2a4e6f1b39
Create Date: 2026-12-03 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import siaga.db

revision: str = "c4e7a2d9b105"
down_revision: str | None = "8d2a4e6f1b39"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_denial_windows",
        sa.Column("actor_key", sa.String(length=200), nullable=False),
        sa.Column("window_start", siaga.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("summary_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("actor_key", name=op.f("pk_audit_denial_windows")),
    )


def downgrade() -> None:
    op.drop_table("audit_denial_windows")

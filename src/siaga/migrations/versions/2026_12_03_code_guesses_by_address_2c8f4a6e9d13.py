"""a one-time code counts wrong guesses from other addresses apart from its requester's

Revision ID: 2c8f4a6e9d13
Revises: 7e3b9c1d5a20
Create Date: 2026-12-03 18:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2c8f4a6e9d13"
down_revision: str | None = "7e3b9c1d5a20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("one_time_codes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("foreign_attempts", sa.Integer(), server_default=sa.text("0"), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("one_time_codes", schema=None) as batch_op:
        batch_op.drop_column("foreign_attempts")

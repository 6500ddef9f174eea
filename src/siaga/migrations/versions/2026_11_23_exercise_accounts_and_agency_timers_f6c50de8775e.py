"""exercise accounts and agency timers

Revision ID: f6c50de8775e
Revises: 5f4cba3d013b
Create Date: 2026-11-23 04:06:18.131835
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f6c50de8775e"
down_revision: str | None = "5f4cba3d013b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agencies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ack_timeout_seconds", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("dispatch_timeout_seconds", sa.Integer(), nullable=True))

    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delivery_failed", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("follows_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_alerts_follows_id_alerts"), "alerts", ["follows_id"], ["id"], ondelete="SET NULL"
        )

    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("is_exercise", sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.add_column(sa.Column("is_exercise", sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(sa.Column("is_exercise", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.drop_column("is_exercise")

    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_column("is_exercise")

    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_column("is_exercise")

    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_alerts_follows_id_alerts"), type_="foreignkey")
        batch_op.drop_column("follows_id")
        batch_op.drop_column("delivery_failed")

    with op.batch_alter_table("agencies", schema=None) as batch_op:
        batch_op.drop_column("dispatch_timeout_seconds")
        batch_op.drop_column("ack_timeout_seconds")

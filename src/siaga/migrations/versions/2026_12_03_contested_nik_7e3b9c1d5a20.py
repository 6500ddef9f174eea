"""a NIK may be claimed by two phone numbers (the second is flagged for a supervisor)

Revision ID: 7e3b9c1d5a20
Revises: c4e7a2d9b105
Create Date: 2026-12-03 18:05:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "7e3b9c1d5a20"
down_revision: str | None = "c4e7a2d9b105"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_residents_nik"), type_="unique")
        batch_op.create_index(batch_op.f("ix_residents_nik"), ["nik"], unique=False)


def downgrade() -> None:
    # Fails while two residents hold the same NIK: a supervisor settles each contested NIK first.
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_residents_nik"))
        batch_op.create_unique_constraint(batch_op.f("uq_residents_nik"), ["nik"])

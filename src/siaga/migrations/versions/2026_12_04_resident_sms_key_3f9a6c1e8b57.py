"""residents get a key to sign the app's SOS SMS with

The resident app can send its SOS as one SMS when there is no data; the message is signed with a key of the
resident's own, issued at sign-in (or at the next profile fetch for residents from before) and kept sealed at rest
(``accounts/sms_keys.py``). Residents from before have none until then.

Revision ID: 3f9a6c1e8b57
Revises: d4c8e1f2a6b3
Create Date: 2026-12-04 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3f9a6c1e8b57"
down_revision: str | None = "d4c8e1f2a6b3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sms_key", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_column("sms_key")

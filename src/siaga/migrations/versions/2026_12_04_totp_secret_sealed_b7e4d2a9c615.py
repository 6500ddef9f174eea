"""staff TOTP secrets room for their encrypted form

A sealed secret (``v1:`` and the base64 of a nonce, the ciphertext and its tag) is 83 characters; the column held
64. Secrets stored in plaintext before are not touched here (encrypting needs the key, which migrations do not
read): Siaga reads them as they are and seals each the next time it is used (``accounts/totp.py``).

Revision ID: b7e4d2a9c615
Revises: 9c3f5a7b2d10
Create Date: 2026-12-04 04:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7e4d2a9c615"
down_revision: str | None = "9c3f5a7b2d10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.alter_column(
            "totp_secret", existing_type=sa.String(length=64), type_=sa.String(length=128), existing_nullable=True
        )


def downgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.alter_column(
            "totp_secret", existing_type=sa.String(length=128), type_=sa.String(length=64), existing_nullable=True
        )

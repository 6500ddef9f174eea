"""direct offers carry the short code an officer answers by SMS, and staff their language

An officer whose phone has no open stream gets each offer by SMS with a four-digit code, and answers with it
(``1 4821`` accepts, ``2``/``3``/``4`` report en route, on scene, resolved). The code is kept on the offer, indexed
for the reply's look-up; offers from before have none. A staff member's ``language`` (``id`` or ``en``) is what
those SMS are written in; everyone until now reads Bahasa Indonesia.

Revision ID: 6a1d9e4b2c87
Revises: 8e5a1f3c9b72
Create Date: 2026-12-04 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6a1d9e4b2c87"
down_revision: str | None = "8e5a1f3c9b72"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alert_offers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sms_code", sa.String(length=8), nullable=True))
        batch_op.create_index("ix_alert_offers_sms_code", ["sms_code"], unique=False)
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=5), server_default="id", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_column("language")
    with op.batch_alter_table("alert_offers", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_offers_sms_code")
        batch_op.drop_column("sms_code")

"""fixed panic buttons: sites, devices, their messages and troubles

A site (a bank, a shop, a school) has panic buttons that publish over MQTT; each device has its own broker login (its
hash only), a heartbeat interval and an enabled flag. Every message a device sends is recorded with what Siaga did;
a silent, low-battery or tampered device is a trouble with its own timeline. A site raises its alerts through a
caller row of its own in ``residents`` (nobody can sign in to it).

Revision ID: a7d3f1c8e295
Revises: 6a1d9e4b2c87
Create Date: 2026-12-04 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import siaga.db

revision: str = "a7d3f1c8e295"
down_revision: str | None = "6a1d9e4b2c87"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "device_sites",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("floor_notes", sa.Text(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("contacts", sa.JSON(), nullable=False),
        sa.Column("resident_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", siaga.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", siaga.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_device_sites_agency_id_agencies"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["residents.id"], name=op.f("fk_device_sites_resident_id_residents"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_sites")),
        sa.UniqueConstraint("resident_id", name=op.f("uq_device_sites_resident_id")),
    )
    op.create_index(op.f("ix_device_sites_agency_id"), "device_sites", ["agency_id"], unique=False)
    op.create_table(
        "devices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("protocol", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("heartbeat_interval_s", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("last_seen_at", siaga.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("battery", sa.Integer(), nullable=True),
        sa.Column("created_at", siaga.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["device_sites.id"], name=op.f("fk_devices_site_id_device_sites"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("name", name=op.f("uq_devices_name")),
    )
    op.create_index(op.f("ix_devices_site_id"), "devices", ["site_id"], unique=False)
    op.create_table(
        "device_messages",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=True),
        sa.Column("topic", sa.String(length=300), nullable=False),
        sa.Column("event_type", sa.String(length=20), nullable=True),
        sa.Column("event_id", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("error", sa.String(length=64), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("alert_id", sa.Uuid(), nullable=True),
        sa.Column("received_at", siaga.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_device_messages_device_id_devices"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_messages")),
    )
    op.create_index("ix_device_messages_device_event", "device_messages", ["device_id", "event_id"], unique=True)
    op.create_index(op.f("ix_device_messages_received_at"), "device_messages", ["received_at"], unique=False)
    op.create_table(
        "device_troubles",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("opened_at", siaga.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", siaga.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_device_troubles_agency_id_agencies"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_device_troubles_device_id_devices"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_troubles")),
    )
    op.create_index("ix_device_troubles_agency_open", "device_troubles", ["agency_id", "cleared_at"], unique=False)
    op.create_index(op.f("ix_device_troubles_device_id"), "device_troubles", ["device_id"], unique=False)
    op.create_table(
        "device_trouble_events",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("trouble_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("at", siaga.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["trouble_id"],
            ["device_troubles.id"],
            name=op.f("fk_device_trouble_events_trouble_id_device_troubles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_trouble_events")),
    )
    op.create_index(op.f("ix_device_trouble_events_trouble_id"), "device_trouble_events", ["trouble_id"], unique=False)


def downgrade() -> None:
    op.drop_table("device_trouble_events")
    op.drop_table("device_troubles")
    op.drop_table("device_messages")
    op.drop_table("devices")
    op.drop_table("device_sites")

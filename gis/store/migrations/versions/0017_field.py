"""Field work (issues 22 G/H and 24): browser sessions in PostgreSQL, keys that may name
someone else as the actor, the key behind every timeline event, photos, and the client-made
ids that make an offline phone's resend store once.

- ``sessions``: one row per browser sign-in; the cookie holds a random token, the row its
  SHA-256 (a copied table signs nobody in), with the session's anti-CSRF token, expiry and
  end (sign-out). Every API host reads the same rows, so a sign-out holds everywhere.
- ``api_keys.acts_for_others``: the key may send a free-text ``actor`` (a hotline desk
  recording what a named person did); other keys act as their holder (the key's name).
- ``incident_events.key_id``/``key_name``: which key made the step, beside the actor.
- ``incident_photos``: metadata of content-addressed files under ``WANGGE_MEDIA_DIR``.
- ``client_actions``: the answer to a client-made id, kept so a repeat gets the same answer.

Revision ID: 0017_field
Revises: 0016_patrols
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0017_field"
down_revision = "0016_patrols"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("token_hash", sa.Text, primary_key=True),
        sa.Column(
            "key_id",
            sa.Text,
            sa.ForeignKey("api_keys.key_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("csrf_token", sa.Text, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.Column("client", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("sessions_expires_at_idx", "sessions", ["expires_at"])
    op.create_index("sessions_key_id_idx", "sessions", ["key_id"])
    op.add_column(
        "api_keys",
        sa.Column("acts_for_others", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.add_column("incident_events", sa.Column("key_id", sa.Text))
    op.add_column("incident_events", sa.Column("key_name", sa.Text))
    op.create_table(
        "incident_photos",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column(
            "incident_id",
            sa.BigInteger,
            sa.ForeignKey("incidents.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("media_type", sa.Text, nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("bytes", sa.BigInteger, nullable=False),
        sa.Column("stage", sa.Text, nullable=False, server_default="other"),
        sa.Column("taken_at", sa.DateTime(timezone=True)),
        sa.Column(
            "uploaded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("key_id", sa.Text),
        sa.Column("key_name", sa.Text),
        sa.Column("deleted_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(
            "stage IN ('intake', 'before', 'after', 'other')", name="incident_photo_stage"
        ),
    )
    op.create_index("ix_incident_photos_incident_id", "incident_photos", ["incident_id"])
    op.create_table(
        "client_actions",
        sa.Column("client_id", sa.Text, primary_key=True),
        sa.Column("key_id", sa.Text, nullable=False),
        sa.Column("incident_id", sa.BigInteger, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("answer", JSONB, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table("client_actions")
    op.drop_table("incident_photos")
    op.drop_column("incident_events", "key_name")
    op.drop_column("incident_events", "key_id")
    op.drop_column("api_keys", "acts_for_others")
    op.drop_table("sessions")

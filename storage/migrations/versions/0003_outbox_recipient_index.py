"""outbox index for per-user pacing: recent sends per recipient without scanning every sent row

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outbox_recipient_sent", "outbox", ["recipient", "sent_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_recipient_sent", table_name="outbox")

"""cards_sent.delivered_at: a card is recorded when its outbox row is claimed, delivered later

A tap on a card, or an update to it, can arrive while the send call is still in flight (the person
already sees the card); recording the card at claim time lets both find it. ``delivered_at`` is null
until the platform has accepted the card. Every card recorded before this revision was delivered.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cards_sent") as batch:
        batch.add_column(sa.Column("delivered_at", UTCDateTime(), nullable=True))
    op.execute("UPDATE cards_sent SET delivered_at = created_at")


def downgrade() -> None:
    with op.batch_alter_table("cards_sent") as batch:
        batch.drop_column("delivered_at")

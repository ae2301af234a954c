"""outbox.digest: rows with identical content are claimed together

A text (or a card shared by many people) that several people are due to get goes out in one call
to all of them, but only when their rows are claimed in the same outbox round. Rows become due as
events are processed, so under a burst identical answers were spread over many rounds and calls.
Mergeable rows now carry a digest of their content and a round claims the due rows sharing a digest
with the rows it picked (storage/outbox.py ``claim_due``). Rows queued before this revision keep
no digest: they are sent as before.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("digest", sa.String(length=40), nullable=True))
    op.create_index("ix_outbox_digest", "outbox", ["channel", "digest"], sqlite_where=sa.text("digest IS NOT NULL"),
                    postgresql_where=sa.text("digest IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_outbox_digest", table_name="outbox", sqlite_where=sa.text("digest IS NOT NULL"),
                  postgresql_where=sa.text("digest IS NOT NULL"))
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("digest")

"""directory_version: one counter that every import and directory sync raises in its transaction

Each process caches employees by platform id (storage/identity.py). Until this revision another
process's import was seen only when a cached entry expired (60 s), so the cache had to stay short
and missed for almost every message. Now a cache checks this counter every few seconds and drops
everything when it moved, and its entries can live for minutes.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "directory_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("directory_version")

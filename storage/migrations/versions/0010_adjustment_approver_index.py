"""adjustment_requests.approver_id is indexed: a leaver's pending approvals go to their manager

``handlers/directory/store._deactivate`` looks up each leaver's pending approvals by ``approver_id``,
which had no index: each leaver walked every pending request (SQLite: the partial index of pending
requests), so a sync with many leavers grew with leavers × pending requests. Small at 20,000 people
(2,857 leavers, 2,000 pending requests: within the run-to-run noise of a 7-9 s sync), quadratic beyond.

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_adjustment_requests_approver_id", "adjustment_requests", ["approver_id"])


def downgrade() -> None:
    op.drop_index("ix_adjustment_requests_approver_id", table_name="adjustment_requests")

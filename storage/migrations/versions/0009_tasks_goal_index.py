"""tasks.goal_id is indexed: an approval card lists the goal's open tasks

``handlers/adjust/store.open_tasks`` (every approval card, twice per request escalated by
``adjust_escalation``) looked the goal's tasks up with no index on ``goal_id``: each card read the whole
tasks table, so the job's cost grew with requests × tasks (134 s for 2,000 escalations in a
20,000-person organisation with 60,000 tasks).

Revision ID: 0009
Revises: 0008
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_tasks_goal_id", "tasks", ["goal_id"])


def downgrade() -> None:
    op.drop_index("ix_tasks_goal_id", table_name="tasks")

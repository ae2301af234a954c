"""Drop apscheduler_jobs, the job store of versions before the scheduler kept its runs in job_runs

Older versions persisted APScheduler's jobs in this table. The scheduler now keeps an in-memory timer
and records one run row per job and instant (scheduler/runs.py), so nothing reads or writes the table;
a database upgraded from such a version still had it, and the schema check had to skip it.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP TABLE IF EXISTS apscheduler_jobs")


def downgrade() -> None:
    pass  # the old job store recreated its table itself when it started

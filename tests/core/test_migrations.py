from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text
from sqlmodel import SQLModel

import storage.models  # noqa: F401
from storage.db import MIGRATIONS, alembic_config, open_database
from storage.models import Department


def test_migrations_match_the_models(db_url):
    """Someone changed a model without a migration if this fails (run scripts/regen_initial_migration.sh
    before the first release; afterwards add a new Alembic revision)."""
    db = open_database(db_url)
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(ctx, SQLModel.metadata)
    db.dispose()
    assert diff == []


def test_migrating_twice_is_harmless(db_url):
    """A restart migrates again: the schema stays at the head revision with every model table and
    column, and what was stored before is still there."""
    db = open_database(db_url)
    with db.session() as s:
        s.add(Department(name="华东销售部"))
    db.dispose()
    db = open_database(db_url)
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    with db.engine.connect() as conn:
        assert list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars()) == [head]
        insp = inspect(conn)
        for table in SQLModel.metadata.sorted_tables:
            assert {c["name"] for c in insp.get_columns(table.name)} == {c.name for c in table.columns}, table.name
    with db.session() as s:
        assert [d.name for d in s.execute(select(Department)).scalars()] == ["华东销售部"]
    db.dispose()


def test_upgrading_drops_the_old_scheduler_table_and_keeps_the_data(db_url):
    """A database from a version that kept APScheduler's jobs in apscheduler_jobs (revision 0006 and
    before) loses that unused table on upgrade; everything else stays."""
    db = open_database(db_url)
    with db.session() as s:
        s.add(Department(name="研发中心"))
    with db.engine.begin() as conn:  # back to 0007's schema (0007 itself is idempotent)
        cfg = alembic_config(db.url)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0007")
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS apscheduler_jobs "
                          "(id VARCHAR(191) PRIMARY KEY, next_run_time FLOAT, job_state BYTEA)"
                          if db.engine.dialect.name == "postgresql" else
                          "CREATE TABLE IF NOT EXISTS apscheduler_jobs (id VARCHAR(191) PRIMARY KEY, "
                          "next_run_time FLOAT, job_state BLOB)"))
        conn.execute(text("UPDATE alembic_version SET version_num = '0006'"))
    db.dispose()
    db = open_database(db_url)
    with db.engine.connect() as conn:
        assert "apscheduler_jobs" not in inspect(conn).get_table_names()
    with db.session() as s:
        assert "研发中心" in [d.name for d in s.execute(select(Department)).scalars()]
    db.dispose()


def test_a_database_at_the_newest_revision_starts_without_alembic(db_url, tmp_path):
    """Every start migrates; a database already at the newest revision is recognised from the migration
    files and its alembic_version row, so the process never imports Alembic (with Mako and Pygments:
    about 0.1 s of start-up and 9 MB of every process). A database behind is still upgraded by Alembic."""
    import os
    import subprocess
    import sys

    from storage.db import head_revision
    from tests.conftest import REPO as REPO_ROOT

    assert head_revision() == ScriptDirectory(str(MIGRATIONS)).get_current_head()
    open_database(db_url).dispose()  # a new database: created by Alembic
    probe = ("import sys; from storage.db import open_database; db = open_database(sys.argv[1]); "
             "print(db.at_head(), 'alembic' in sys.modules, 'mako' in sys.modules)")

    def start() -> str:
        done = subprocess.run([sys.executable, "-c", probe, db_url], cwd=REPO_ROOT, capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert start() == "True False False"
    db = open_database(db_url)
    with db.engine.begin() as conn:  # one revision behind
        cfg = alembic_config(db.url)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "-1")
    assert not db.at_head()
    db.dispose()
    assert start() == "True True True"  # upgraded by Alembic, then at the head again

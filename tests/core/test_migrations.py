from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text
from sqlmodel import SQLModel

import storage.models  # noqa: F401
from storage.db import MIGRATIONS, open_database
from storage.models import Department


def test_migrations_match_the_models(db_url):
    """Someone changed a model without a migration if this fails (run scripts/regen_initial_migration.sh
    before the first release; afterwards add a new Alembic revision)."""
    db = open_database(db_url)
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = [d for d in compare_metadata(ctx, SQLModel.metadata)
                if not (isinstance(d, tuple) and d and d[0] == "remove_table" and d[1].name == "apscheduler_jobs")]
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

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import storage.models  # noqa: F401
from storage.db import open_database


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


def test_migrating_twice_is_harmless(sqlite_url):
    open_database(sqlite_url).dispose()
    open_database(sqlite_url).dispose()

from __future__ import annotations

import threading

import pytest

from storage.db import open_database
from storage.locks import hold_for_transaction


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_employee_lock_serialises_across_processes(db_url):
    """Two units of work on separate engines stand for two bot processes sharing the database: the
    second one waits for the first to commit, a different employee is never blocked."""
    a, b = open_database(db_url), open_database(db_url)
    order: list[str] = []
    a_inside, release, b_waiting = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with a.unit_of_work():
            hold_for_transaction(a, "E101")
            order.append("a-in")
            a_inside.set()
            release.wait(10)
            order.append("a-out")

    def second() -> None:
        a_inside.wait(10)
        with b.unit_of_work():
            b_waiting.set()
            hold_for_transaction(b, "E101")
            order.append("b-in")

    t1, t2 = threading.Thread(target=first), threading.Thread(target=second)
    t1.start()
    t2.start()
    a_inside.wait(10)
    with b.unit_of_work():
        hold_for_transaction(b, "E102")
        order.append("other")
    b_waiting.wait(10)
    # "b" is now blocked inside pg_advisory_xact_lock: PostgreSQL shows it waiting on the lock.
    with b.session() as s:
        from sqlalchemy import text

        for _ in range(200):
            waiting = s.execute(text("select count(*) from pg_locks where locktype='advisory' and not granted")).scalar()
            if waiting:
                break
            threading.Event().wait(0.01)
    assert waiting == 1
    release.set()
    t1.join(10)
    t2.join(10)
    assert order == ["a-in", "other", "a-out", "b-in"]
    a.dispose()
    b.dispose()


def test_unit_of_work_commits_once_and_rolls_back_whole(sqlite_url):
    """Everything inside one unit of work commits together, or not at all."""
    from storage import inbox
    from tests.conftest import DEMO_NOW

    db = open_database(sqlite_url)
    before = db.commits
    with db.unit_of_work():
        for i in range(5):
            inbox.accept(db, f"k{i}", "terminal", {}, DEMO_NOW)
            inbox.finish(db, f"k{i}", DEMO_NOW)
    assert db.commits - before == 1
    assert inbox.status_of(db, "k4") == "done"
    with pytest.raises(RuntimeError), db.unit_of_work():
        inbox.accept(db, "lost", "terminal", {}, DEMO_NOW)
        raise RuntimeError("handler bug")
    assert inbox.status_of(db, "lost") is None
    db.dispose()

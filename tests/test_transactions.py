"""Units of work through a session: ``write_transaction`` keeps all of one or none of it, and
``end_read`` ends a read so the write after it starts fresh (on both databases)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pipeline import accounts, problems
from pipeline.db import end_read, make_engine, session_factory, write_transaction
from pipeline.models import AppUser, AuditEvent, User
from pipeline.problems import Problem


@pytest.fixture
def sessions(database_url: str) -> Iterator[tuple[Session, Session]]:
    """Two sessions on the test's database, as two workers would have."""
    engine = make_engine(database_url)
    make = session_factory(engine)
    first, second = make(), make()
    yield first, second
    first.close()
    second.close()
    engine.dispose()


def _user(name: str) -> User:
    return User(username=name, display_name=name, password_hash="x", role="admin", scope=["*"])


def test_a_refusal_raised_in_the_block_keeps_nothing_of_it(sessions):
    session, _other = sessions
    with pytest.raises(Problem), write_transaction(session):
        session.add(AuditEvent(actor="test", action="test.refused", details={}))
        session.flush()  # written, not yet committed
        raise problems.not_found("Something")
    assert not session.in_transaction()
    assert session.scalar(select(func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "test.refused")) == 0


def test_a_commit_that_fails_is_rolled_back_and_the_session_goes_on(sessions):
    session, _other = sessions
    with write_transaction(session):
        session.add(_user("first"))
    with pytest.raises(IntegrityError), write_transaction(session):
        session.add(_user("first"))  # flushed by the commit, which the database refuses
    assert not session.in_transaction()
    # Usable at once: no "transaction has been rolled back" left behind.
    assert session.scalar(select(func.count()).select_from(User)
                          .where(User.username == "first")) == 1


def test_end_read_keeps_what_was_loaded_and_a_write_after_it_sees_other_writers(sessions):
    session, other = sessions
    with write_transaction(other):
        other.add(AppUser(name="phone", token="t" * 20, forms=[], scope=[], created_by="test"))
    phone = session.scalar(select(AppUser).where(AppUser.name == "phone"))
    # Another worker writes after this session's read began (on SQLite a write on the old
    # snapshot would fail at once, "database is locked", whatever the busy timeout).
    with write_transaction(other):
        other.add(AuditEvent(actor="test", action="test.other", details={}))
    end_read(session)
    assert not session.in_transaction()
    assert not inspect(phone).expired_attributes  # nothing to read again
    accounts.revoke_app_user(session, "phone", actor="test")
    assert session.scalar(select(AppUser.revoked_at).where(AppUser.name == "phone")) is not None

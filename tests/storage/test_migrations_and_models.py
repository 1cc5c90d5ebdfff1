"""The schema: migrations apply on SQLite and PostgreSQL, models round-trip, locking works."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from bot import workflow
from storage import db, queries
from storage.db import FOREIGN_TABLES
from storage.models import Base, Contact, Order, OrderDomain


def _order(**overrides: object) -> Order:
    values: dict[str, object] = dict(
        team_id="T1",
        requester_id="U1",
        product="dv",
        domain_type="multi",
        domain_count=2,
        validity_days=200,
        state=workflow.State.PURCHASED,
    )
    values.update(overrides)
    return Order(**values)


def test_migrations_create_every_model_table(engine: Engine) -> None:
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert db.current_revision(engine) is not None


def test_migrations_match_the_models(engine: Engine) -> None:
    """Autogenerate finds nothing to add: the migrations and the models agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    def ours(obj: object, name: str | None, kind: str, reflected: bool, compare_to: object) -> bool:
        return not (kind == "table" and name in FOREIGN_TABLES)

    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": False, "include_object": ours}
        )
        assert compare_metadata(context, Base.metadata) == []


def test_order_round_trip_keeps_domains_applicant_and_aware_times(engine: Engine) -> None:
    sessions = db.session_factory(engine)
    with sessions.begin() as session:
        order = _order()
        order.domains = [
            OrderDomain(position=0, name="xn--bcher-kva.example", display="bücher.example"),
            OrderDomain(position=1, name="www.example.com", display="www.example.com"),
        ]
        order.applicant = Contact(name="Ada", email="ada@example.com", phone="+442079460958")
        order.not_after = datetime(2027, 1, 2, 3, 4, tzinfo=UTC)
        session.add(order)
        session.flush()
        order_id = order.id
    with sessions.begin() as session:
        loaded = queries.get_order(session, order_id)
        assert loaded is not None
        assert [d.display for d in loaded.domains] == ["bücher.example", "www.example.com"]
        assert loaded.applicant is not None and loaded.applicant.email == "ada@example.com"
        assert loaded.not_after == datetime(2027, 1, 2, 3, 4, tzinfo=UTC)
        assert loaded.created_at.tzinfo is not None
        assert loaded.ref == f"CD-{order_id:04d}"


def test_duplicate_domain_in_one_order_is_refused_by_the_database(engine: Engine) -> None:
    sessions = db.session_factory(engine)
    with pytest.raises(IntegrityError), sessions.begin() as session:
        order = _order()
        order.domains = [
            OrderDomain(position=0, name="a.example.com", display="a.example.com"),
            OrderDomain(position=1, name="a.example.com", display="A.example.com"),
        ]
        session.add(order)


def test_concurrent_writers_cannot_overwrite_each_other(engine: Engine) -> None:
    sessions = db.session_factory(engine)
    with sessions.begin() as session:
        order = _order()
        session.add(order)
        session.flush()
        order_id = order.id
    first, second = sessions(), sessions()
    a, b = first.get(Order, order_id), second.get(Order, order_id)
    assert a is not None and b is not None
    a.state = workflow.State.SUBMITTED
    first.commit()
    b.state = workflow.State.CANCELLED
    with pytest.raises(StaleDataError):
        second.commit()
    second.rollback()
    first.close()
    second.close()
    with sessions.begin() as session:
        assert session.get(Order, order_id).state == workflow.State.SUBMITTED  # type: ignore[union-attr]


def test_naive_datetimes_are_refused(engine: Engine) -> None:
    sessions = db.session_factory(engine)
    with pytest.raises(Exception, match="naive"), sessions.begin() as session:
        session.add(_order(not_after=datetime.now() + timedelta(days=1)))

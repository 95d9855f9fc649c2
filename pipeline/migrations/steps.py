"""The schema steps migrations are made of, each with its undoing, so a migration says a change once.

A migration made only of such steps sets ``upgrade, downgrade = steps(...)``: Alembic calls the
module's ``upgrade`` and ``downgrade`` attributes, whatever made them. The upgrade takes the steps
in order; the downgrade undoes them in the reverse order. A migration that runs code of its own
(0014, 0016) writes the two functions out instead.

Every step runs the same Alembic operations as the hand-written migrations did, in the same
order (``render_as_batch``: SQLite rebuilds a table only for what it cannot ALTER). The columns
and constraints a step is given belong to the one table it makes or changes: Alembic loads the
migration modules afresh for each command, and a command runs each migration once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations

from pipeline import warehouse_tables


@dataclass(frozen=True)
class Step:
    do: Callable[[], None]
    undo: Callable[[], None]


def steps(*parts: Step) -> tuple[Callable[[], None], Callable[[], None]]:
    """A migration's ``upgrade`` and ``downgrade`` functions."""

    def upgrade() -> None:
        for part in parts:
            part.do()

    def downgrade() -> None:
        for part in reversed(parts):
            part.undo()

    return upgrade, downgrade


def table(name: str, *elements: sa.SchemaItem) -> Step:
    """A new table of these columns and constraints (its indexes are steps of their own)."""
    return Step(lambda: op.create_table(name, *elements), lambda: op.drop_table(name))


def index(table_name: str, *columns: str, name: str | None = None,
          where: sa.TextClause | None = None) -> Step:
    """An index on these columns, named ``ix_<table>_<columns>`` unless named; ``where`` makes
    it partial (on both databases)."""
    partial = {} if where is None else {"sqlite_where": where, "postgresql_where": where}

    def named(batch_op: BatchOperations) -> str:
        return name or batch_op.f(f"ix_{table_name}_{'_'.join(columns)}")

    def create() -> None:
        with op.batch_alter_table(table_name, schema=None) as batch_op:
            batch_op.create_index(named(batch_op), list(columns), unique=False, **partial)

    def drop() -> None:
        with op.batch_alter_table(table_name, schema=None) as batch_op:
            batch_op.drop_index(named(batch_op))

    return Step(create, drop)


def no_index(table_name: str, *columns: str) -> Step:
    """An index of ``ix_<table>_<columns>`` that goes (and comes back, plain, on a downgrade)."""
    undone = index(table_name, *columns)
    return Step(undone.undo, undone.do)


def columns(table_name: str, *added: sa.Column) -> Step:
    """New columns on an existing table."""

    def add() -> None:
        with op.batch_alter_table(table_name, schema=None) as batch_op:
            for column in added:
                batch_op.add_column(column)

    def drop() -> None:
        with op.batch_alter_table(table_name, schema=None) as batch_op:
            for column in reversed(added):
                batch_op.drop_column(column.name)

    return Step(add, drop)


def filled_column(table_name: str, name: str, type_: sa.types.TypeEngine,
                  existing: sa.TextClause) -> Step:
    """A new NOT NULL column on a table that may hold rows: ``existing`` fills theirs, and is no
    default for the rows after them (the model has none)."""
    added = columns(table_name, sa.Column(name, type_, nullable=False, server_default=existing))

    def add() -> None:
        added.do()
        with op.batch_alter_table(table_name, schema=None) as batch_op:
            batch_op.alter_column(name, server_default=None)

    return Step(add, added.undo)


def warehouse_indexes() -> Step:
    """The indexes the warehouse's main tables lack (``warehouse_tables.add_missing_indexes``):
    tables made from then on get them with the table, and a rebuild recreates them. Derived
    data: a downgrade leaves them."""

    return Step(lambda: warehouse_tables.add_missing_indexes(op.get_bind()), lambda: None)

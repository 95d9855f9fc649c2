"""inspections of projects not in the list keep the registry project they count for on their row"""

from alembic import op
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from pipeline import warehouse_tables
from pipeline.domain import inspections
from pipeline.schema import table_name
from pipeline.warehouse_tables import PROJECT_CODE

revision = "0016"
down_revision = "0015"


def _main_tables(conn) -> list[tuple[str, set[str]]]:
    insp = inspect(conn)
    names = set(insp.get_table_names())
    found = []
    for (form,) in conn.exec_driver_sql("SELECT xml_form_id FROM forms"):
        name = table_name(form)
        if name in names:
            found.append((name, {c["name"] for c in insp.get_columns(name)}))
    return found


def upgrade() -> None:
    conn = op.get_bind()
    quote = conn.dialect.identifier_preparer.quote
    for name, columns in _main_tables(conn):
        if "project_listed" in columns and PROJECT_CODE not in columns:
            conn.exec_driver_sql(f"ALTER TABLE {quote(name)} ADD COLUMN {PROJECT_CODE} TEXT")
    warehouse_tables.forget(conn)
    inspections.rematch(Session(bind=conn))  # fills it: only these inspections are read
    warehouse_tables.add_missing_indexes(conn)


def downgrade() -> None:
    conn = op.get_bind()
    quote = conn.dialect.identifier_preparer.quote
    for name, columns in _main_tables(conn):
        if PROJECT_CODE in columns:
            index = warehouse_tables._index_name(name, "project_code")
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {quote(index)}")
            conn.exec_driver_sql(f"ALTER TABLE {quote(name)} DROP COLUMN {PROJECT_CODE}")
    warehouse_tables.forget(conn)

"""warehouse main tables get the indexes their lists, dashboard and exports need at a million rows"""

from alembic import op

from pipeline import warehouse_tables

revision = "0013"
down_revision = "0012"


def upgrade() -> None:
    # Tables created from now on get them with the table (and a rebuild recreates them).
    warehouse_tables.add_missing_indexes(op.get_bind())


def downgrade() -> None:
    pass  # derived data: the indexes may stay

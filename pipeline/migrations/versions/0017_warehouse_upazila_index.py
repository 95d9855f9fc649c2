"""warehouse main tables with districts and upazilas get the lists' order within an upazila"""

from alembic import op

from pipeline import warehouse_tables

revision = "0017"
down_revision = "0016"


def upgrade() -> None:
    # Tables created from now on get it with the table (and a rebuild recreates it).
    warehouse_tables.add_missing_indexes(op.get_bind())


def downgrade() -> None:
    pass  # derived data: the index may stay

"""the free-text search index of every form's submissions, built from the warehouse's rows"""

from alembic import op

from pipeline import search

revision = "0014"
down_revision = "0013"


def upgrade() -> None:
    conn = op.get_bind()
    search.create(conn)
    search.reindex(conn)


def downgrade() -> None:
    search.drop(op.get_bind())

"""the free-text search index of every form's submissions, built from the warehouse's rows

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 11:50:00
"""

from alembic import op

from pipeline import search

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    search.create(conn)
    search.reindex(conn)


def downgrade() -> None:
    search.drop(op.get_bind())

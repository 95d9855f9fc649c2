"""honest pulls: what a run loaded and failed to load, and who holds a source's claim

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 07:15:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pull_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("loaded", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("failed", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pull_owner", sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.drop_column("pull_owner")
    with op.batch_alter_table("pull_runs", schema=None) as batch_op:
        batch_op.drop_column("failed")
        batch_op.drop_column("loaded")

"""one pull per source at a time: the claim on a source

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 09:25:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pull_run_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("pull_heartbeat", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.drop_column("pull_heartbeat")
        batch_op.drop_column("pull_run_id")

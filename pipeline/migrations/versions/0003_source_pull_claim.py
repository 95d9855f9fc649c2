"""one pull per source at a time: the claim on a source"""

import sqlalchemy as sa

from pipeline.migrations.steps import columns, steps

revision = "0003"
down_revision = "0002"

upgrade, downgrade = steps(
    columns("sources",
            sa.Column("pull_run_id", sa.Integer(), nullable=True),
            sa.Column("pull_heartbeat", sa.DateTime(timezone=True), nullable=True)),
)

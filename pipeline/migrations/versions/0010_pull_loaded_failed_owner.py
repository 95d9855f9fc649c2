"""honest pulls: what a run loaded and failed to load, and who holds a source's claim"""

import sqlalchemy as sa

from pipeline.migrations.steps import columns, steps

revision = "0010"
down_revision = "0009"

upgrade, downgrade = steps(
    columns("pull_runs",
            sa.Column("loaded", sa.Integer(), nullable=False, server_default="0"),
            sa.Column("failed", sa.Integer(), nullable=False, server_default="0")),
    columns("sources", sa.Column("pull_owner", sa.String(length=300), nullable=True)),
)

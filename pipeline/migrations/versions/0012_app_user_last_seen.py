"""app users remember when their phone was last heard from (Sync health's "last seen")"""

import sqlalchemy as sa

from pipeline.migrations.steps import columns, steps

revision = "0012"
down_revision = "0011"

upgrade, downgrade = steps(
    columns("app_users", sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True)),
)

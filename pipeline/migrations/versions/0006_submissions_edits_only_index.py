"""index only edits by the instance they replace: plain uploads skip that index"""

import sqlalchemy as sa

from pipeline.migrations.steps import index, no_index, steps

revision = "0006"
down_revision = "0005"

upgrade, downgrade = steps(
    no_index("submissions", "deprecated_id"),
    index("submissions", "deprecated_id", where=sa.text("deprecated_id IS NOT NULL")),
)

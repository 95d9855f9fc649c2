"""uploads write fewer submission indexes; pending ones get a partial index"""

import sqlalchemy as sa

from pipeline.migrations.steps import index, no_index, steps

revision = "0005"
down_revision = "0004"

upgrade, downgrade = steps(
    no_index("submissions", "current"),
    no_index("submissions", "received_at"),
    no_index("submissions", "review_state"),
    no_index("submissions", "parse_status"),
    index("submissions", "id", name="ix_submissions_pending",
          where=sa.text("parse_status = 'pending'")),
)

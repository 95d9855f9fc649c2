"""index only edits by the instance they replace: plain uploads skip that index

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 13:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_EDITS = sa.text("deprecated_id IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_index("ix_submissions_deprecated_id")
        batch_op.create_index("ix_submissions_deprecated_id", ["deprecated_id"], unique=False,
                              sqlite_where=_EDITS, postgresql_where=_EDITS)


def downgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_index("ix_submissions_deprecated_id")
        batch_op.create_index("ix_submissions_deprecated_id", ["deprecated_id"], unique=False)

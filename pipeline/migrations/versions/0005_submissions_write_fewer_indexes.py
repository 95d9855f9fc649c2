"""uploads write fewer submission indexes; pending ones get a partial index

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 10:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_PENDING = sa.text("parse_status = 'pending'")


def upgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_index("ix_submissions_current")
        batch_op.drop_index("ix_submissions_received_at")
        batch_op.drop_index("ix_submissions_review_state")
        batch_op.drop_index("ix_submissions_parse_status")
        batch_op.create_index("ix_submissions_pending", ["id"], unique=False,
                              sqlite_where=_PENDING, postgresql_where=_PENDING)


def downgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_index("ix_submissions_pending")
        batch_op.create_index("ix_submissions_parse_status", ["parse_status"], unique=False)
        batch_op.create_index("ix_submissions_review_state", ["review_state"], unique=False)
        batch_op.create_index("ix_submissions_received_at", ["received_at"], unique=False)
        batch_op.create_index("ix_submissions_current", ["current"], unique=False)

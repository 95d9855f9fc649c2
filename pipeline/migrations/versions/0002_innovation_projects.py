"""innovation project registry

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 08:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "innovation_projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("title_en", sa.String(length=500), nullable=False),
        sa.Column("title_bn", sa.String(length=500), nullable=False),
        sa.Column("division", sa.String(length=16), nullable=False),
        sa.Column("district", sa.String(length=16), nullable=False),
        sa.Column("upazila", sa.String(length=16), nullable=True),
        sa.Column("office", sa.String(length=300), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=True),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    with op.batch_alter_table("innovation_projects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_innovation_projects_division"), ["division"])
        batch_op.create_index(batch_op.f("ix_innovation_projects_district"), ["district"])
        batch_op.create_index(batch_op.f("ix_innovation_projects_upazila"), ["upazila"])


def downgrade() -> None:
    with op.batch_alter_table("innovation_projects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_innovation_projects_upazila"))
        batch_op.drop_index(batch_op.f("ix_innovation_projects_district"))
        batch_op.drop_index(batch_op.f("ix_innovation_projects_division"))
    op.drop_table("innovation_projects")

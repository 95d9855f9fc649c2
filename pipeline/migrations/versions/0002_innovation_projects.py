"""innovation project registry"""

import sqlalchemy as sa

from pipeline.migrations.steps import index, steps, table

revision = "0002"
down_revision = "0001"

upgrade, downgrade = steps(
    table(
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
    ),
    index("innovation_projects", "division"),
    index("innovation_projects", "district"),
    index("innovation_projects", "upazila"),
)

"""app users get an optional area (geo codes, as a web user's scope; empty: everywhere)"""

import sqlalchemy as sa

from pipeline.migrations.steps import filled_column, steps

revision = "0007"
down_revision = "0006"

upgrade, downgrade = steps(filled_column("app_users", "scope", sa.JSON(), sa.text("'[]'")))

"""web users get preferences (a list's chosen columns, when they last downloaded)"""

import sqlalchemy as sa

from pipeline.migrations.steps import filled_column, steps

revision = "0011"
down_revision = "0010"

upgrade, downgrade = steps(filled_column("users", "preferences", sa.JSON(), sa.text("'{}'")))

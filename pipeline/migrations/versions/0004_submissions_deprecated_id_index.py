"""index submissions by the instance they replace"""

from pipeline.migrations.steps import index, steps

revision = "0004"
down_revision = "0003"

upgrade, downgrade = steps(index("submissions", "deprecated_id"))

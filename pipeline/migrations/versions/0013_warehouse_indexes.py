"""warehouse main tables get the indexes their lists, dashboard and exports need at a million rows"""

from pipeline.migrations.steps import steps, warehouse_indexes

revision = "0013"
down_revision = "0012"

upgrade, downgrade = steps(warehouse_indexes())

"""warehouse main tables with a progress (inspections) get the list's order by it, largest first"""

from pipeline.migrations.steps import steps, warehouse_indexes

revision = "0018"
down_revision = "0017"

upgrade, downgrade = steps(warehouse_indexes())

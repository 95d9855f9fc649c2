"""warehouse main tables with a progress and a district get the list's order by progress within a district"""

from pipeline.migrations.steps import steps, warehouse_indexes

revision = "0019"
down_revision = "0018"

upgrade, downgrade = steps(warehouse_indexes())

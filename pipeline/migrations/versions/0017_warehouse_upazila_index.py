"""warehouse main tables with districts and upazilas get the lists' order within an upazila"""

from pipeline.migrations.steps import steps, warehouse_indexes

revision = "0017"
down_revision = "0016"

upgrade, downgrade = steps(warehouse_indexes())

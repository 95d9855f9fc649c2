"""Export pipelines: the district Excel workbook and the ODK Central-layout CSV zip.

Reads the warehouse (``pipeline``), writes files; no Flask here.
"""

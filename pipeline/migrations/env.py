"""Alembic environment: the engine is handed in by ``pipeline.db.upgrade``."""

from alembic import context

from pipeline.models import Base
from pipeline.search import is_index_table

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # run from the alembic CLI: use DATABASE_URL or the default data folder
    import os

    from pipeline.db import make_engine

    engine = make_engine(os.environ.get("DATABASE_URL", "sqlite:///data/sangjog.db"))

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode rebuilds tables
        compare_type=True,
        # The search index (pipeline/search.py) is made by its own DDL, not by the models.
        include_name=lambda name, kind, _parent: not (kind == "table" and is_index_table(name)),
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()

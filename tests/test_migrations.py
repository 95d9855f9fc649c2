"""The migrations build exactly the tables the models describe, on both databases."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from pipeline.db import alembic_config, make_engine


def test_migrations_match_the_models(database_url):
    engine = make_engine(database_url)
    try:
        # Raises when autogenerate would find any difference between models and migrations.
        command.check(alembic_config(engine))
    finally:
        engine.dispose()


def test_edits_are_found_by_the_instance_they_replace_through_an_index(database_url):
    engine = make_engine(database_url)
    try:
        indexed = {tuple(ix["column_names"]) for ix in inspect(engine).get_indexes("submissions")}
    finally:
        engine.dispose()
    assert ("deprecated_id",) in indexed

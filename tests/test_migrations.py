"""The migrations build exactly the tables the models describe, on both databases."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic import command
from sqlalchemy import inspect, text

from pipeline.db import alembic_config, make_engine


def test_migrations_match_the_models(database_url):
    engine = make_engine(database_url)
    try:
        # Raises when autogenerate would find any difference between models and migrations.
        command.check(alembic_config(engine))
    finally:
        engine.dispose()


def test_edits_are_found_by_the_instance_they_replace_through_an_index(database_url):
    """Only edits are in that index (plain uploads skip writing it), and a lookup by the
    replaced instance still uses it: equality implies the index's ``IS NOT NULL``."""
    engine = make_engine(database_url)
    query = "SELECT id FROM submissions WHERE deprecated_id = :iid"
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                definition = conn.scalar(text(
                    "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_submissions_deprecated_id'"))
                conn.execute(text("SET enable_seqscan = off"))  # an empty table is scanned
                plan = conn.execute(text(f"EXPLAIN {query}"), {"iid": "uuid:x"}).scalars().all()
            else:
                definition = conn.scalar(text(
                    "SELECT sql FROM sqlite_master WHERE name = 'ix_submissions_deprecated_id'"))
                plan = [row[-1] for row in conn.execute(
                    text(f"EXPLAIN QUERY PLAN {query}"), {"iid": "uuid:x"})]
    finally:
        engine.dispose()
    assert "deprecated_id IS NOT NULL" in definition.replace("(", "").replace(")", ""), definition
    assert any("ix_submissions_deprecated_id" in line for line in plan), plan


_MIGRATE_TOGETHER = """
import sys
from pipeline.db import make_engine, upgrade
engine = make_engine(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()  # the go: every process starts migrating at the same instant
upgrade(engine)
"""


def _fresh_database_url(backend: str, request, tmp_path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    cluster = request.getfixturevalue("pg_cluster")
    admin = make_engine(cluster.url, isolation_level="AUTOCOMMIT")
    name = f"fresh_{tmp_path.name[-20:].lower().replace('-', '_')}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return cluster.database_url(name)


def test_processes_starting_together_on_a_fresh_database_all_start(backend, request, tmp_path):
    """The workers of a first ``gunicorn`` start all migrate at once: they take turns."""
    url = _fresh_database_url(backend, request, tmp_path)
    root = Path(__file__).resolve().parent.parent
    processes = [subprocess.Popen([sys.executable, "-c", _MIGRATE_TOGETHER, url], cwd=root,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
                 for _ in range(4)]
    for process in processes:  # a barrier: all have started and wait for the go
        assert process.stdout.readline() == "ready\n", process.communicate(timeout=60)[1][-2000:]
    for process in processes:
        process.stdin.write("go\n")
        process.stdin.flush()
    for process in processes:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err[-2000:]
    engine = make_engine(url)
    try:
        assert "submissions" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_a_sqlite_file_writes_ahead(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()


def test_the_newest_migration_file_is_alembics_head():
    """``pipeline.db.upgrade`` skips Alembic when the database holds ``head_revision()``: that is
    only right while each revision is its file's number and the newest file is the one head."""
    from alembic.script import ScriptDirectory

    from pipeline.db import MIGRATIONS, head_revision

    script = ScriptDirectory(str(MIGRATIONS))
    assert script.get_heads() == [head_revision()]
    for revision in script.walk_revisions():
        assert Path(revision.path).name.startswith(f"{revision.revision}_")



def _schema(engine) -> dict[str, tuple]:
    found = inspect(engine)
    return {name: (sorted(c["name"] for c in found.get_columns(name)),
                   sorted(i["name"] for i in found.get_indexes(name)))
            for name in found.get_table_names() if name != "alembic_version"}


def test_each_downgrade_gives_back_the_schema_before_its_upgrade(backend, request, tmp_path):
    """Each migration's downgrade undoes its steps in reverse (``pipeline/migrations/steps.py``)."""
    from alembic.script import ScriptDirectory

    from pipeline.db import MIGRATIONS

    url = _fresh_database_url(backend, request, tmp_path)
    engine = make_engine(url)
    try:
        config = alembic_config(engine)
        revisions = [r.revision for r in ScriptDirectory(str(MIGRATIONS)).walk_revisions()][::-1]
        before = {}
        for revision in revisions:
            before[revision] = _schema(engine)
            command.upgrade(config, revision)
        for revision in reversed(revisions):
            command.downgrade(config, "-1")
            assert _schema(engine) == before[revision], revision
        command.upgrade(config, "head")
        command.check(config)
    finally:
        engine.dispose()

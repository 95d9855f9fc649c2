"""Backup benchmark: time and size of ``sangjog backup`` and ``sangjog restore`` for a server of
a few thousand submissions, each with its own photo.

    .venv/bin/python bench/backup.py [--submissions 3000] [--photo-kb 100] [--repeat 3] [--backends sqlite,postgresql]

For each backend (a SQLite file; a throwaway PostgreSQL cluster from ``tests/pg.py``) it stores
the submissions through ``ingest.accept`` (loaded into the warehouse, as a running server has
them), then backs the server up ``--repeat`` times and restores the last backup into an empty
database and data folder, checking the restored counts. Reports medians (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select, text  # noqa: E402

from pipeline import backup, ingest  # noqa: E402
from pipeline.db import make_engine, session_factory, upgrade  # noqa: E402
from pipeline.models import Attachment, Submission  # noqa: E402
from pipeline.storage import BlobStore  # noqa: E402
from tests.builders import publish  # noqa: E402
from tests.builders import site_visit as submission_xml  # noqa: E402
from tests.pg import Cluster  # noqa: E402


def populate(url: str, data_dir: Path, submissions: int, photo_kb: int) -> float:
    engine = make_engine(url)
    upgrade(engine)
    blobs = BlobStore(data_dir / "blobs")
    started = time.monotonic()
    with session_factory(engine)() as session:
        publish(session, "site_visit", with_media=False)
        for n in range(submissions):
            iid = f"uuid:bench-backup-{n}"
            incoming = ingest.Incoming(submission_xml(iid, photo="p.jpg"),
                                       {"p.jpg": os.urandom(photo_kb * 1024)})
            ingest.accept(session, blobs, incoming)
    engine.dispose()
    return time.monotonic() - started


def counts(url: str) -> tuple[int, int]:
    engine = make_engine(url)
    with session_factory(engine)() as session:
        found = (session.scalar(select(func.count()).select_from(Submission)),
                 session.scalar(select(func.count()).select_from(Attachment)))
    engine.dispose()
    return found


def run(backend: str, args: argparse.Namespace, work: Path) -> dict[str, float]:
    cluster = None
    if backend == "sqlite":
        url, target = f"sqlite:///{work / 'source.db'}", f"sqlite:///{work / 'restored.db'}"
    else:
        cluster = Cluster(work / "pg").start()
        admin = make_engine(cluster.url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE source"))
            conn.execute(text("CREATE DATABASE restored"))
        admin.dispose()
        url, target = cluster.database_url("source"), cluster.database_url("restored")
    try:
        data_dir = work / "data"
        fill = populate(url, data_dir, args.submissions, args.photo_kb)
        timings, archive = [], work / "backups" / "sangjog.tar"
        for _ in range(args.repeat):
            made = backup.backup(url, data_dir, archive)
            timings.append(made.seconds)
        done = backup.restore(archive, target, work / "restored-data")
        assert counts(target) == counts(url) == (args.submissions, args.submissions)
        return {"fill_s": fill, "backup_s": statistics.median(timings), "size_mb": made.size / 1e6,
                "photos_mb": made.blob_bytes / 1e6, "restore_s": done.seconds}
    finally:
        if cluster is not None:
            cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=3000)
    parser.add_argument("--photo-kb", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    print(f"{args.submissions} submissions, one {args.photo_kb} kB photo each; "
          f"backup: median of {args.repeat}")
    print(f"{'backend':<11} {'backup s':>9} {'archive MB':>11} {'photos MB':>10} {'restore s':>10} "
          f"{'MB/s':>6}")
    for backend in args.backends.split(","):
        work = Path(tempfile.mkdtemp(prefix=f"sangjog-bench-backup-{backend}-"))
        try:
            r = run(backend, args, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print(f"{backend:<11} {r['backup_s']:>9.2f} {r['size_mb']:>11.1f} {r['photos_mb']:>10.1f} "
              f"{r['restore_s']:>10.2f} {r['size_mb'] / r['backup_s']:>6.0f}", flush=True)


if __name__ == "__main__":
    main()

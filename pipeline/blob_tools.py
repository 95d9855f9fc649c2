"""``sangjog blobs``: move attachments between stores and check that every one is there.

Both walk the attachments the database refers to (distinct sha256 sums; the workbooks of
scheduled exports too), so they are safe to run while phones upload: a blob is written before
the row that names it, and never changed.
``migrate`` copies each blob the target lacks (or holds at another size), checking its sum, and
can be stopped and run again: what is already copied is skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.orm import Session

from .storage import AnyStore, copy_blob


@dataclass
class Report:
    referenced: int = 0
    copied: int = 0
    already: int = 0
    missing: list[str] = field(default_factory=list)  # named by an attachment, not in the store
    orphans: list[str] = field(default_factory=list)  # in the store, named by no attachment
    damaged: list[str] = field(default_factory=list)  # the bytes do not match their name


def referenced_sql(tables: Collection[str] = ("scheduled_exports",)) -> str:
    """The query for the objects a database refers to: every attachment's sha256 and every
    scheduled workbook's, once (plain SQL: backups run it on the driver's own connection to
    their snapshot, which may be of a database from before the workbooks' table, 0015)."""
    query = "SELECT sha256 FROM attachments"
    return query + (" UNION SELECT sha256 FROM scheduled_exports"
                    if "scheduled_exports" in tables else "")


def referenced(session: Session) -> Iterator[str]:
    """Every object the database refers to (``referenced_sql``), once, in a stable order."""
    yield from session.scalars(text(f"{referenced_sql()} ORDER BY 1"))


def migrate(session: Session, source: AnyStore, target: AnyStore,
            progress: Callable[[int], None] = lambda _n: None) -> Report:
    report = Report()
    for digest in referenced(session):
        report.referenced += 1
        try:
            if copy_blob(source, target, digest):
                report.copied += 1
            else:
                report.already += 1
        except FileNotFoundError:
            report.missing.append(digest)
        except ValueError:
            report.damaged.append(digest)
        progress(1)
    return report


def check(session: Session, store: AnyStore) -> Report:
    report = Report()
    wanted = set(referenced(session))
    report.referenced = len(wanted)
    present = set(store.digests())
    report.missing = sorted(wanted - present)
    report.orphans = sorted(present - wanted)
    return report

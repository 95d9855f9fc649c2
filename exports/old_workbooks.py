"""Scheduled workbooks that earlier versions wrote into ``{data}/exports`` as plain files
(before migration 0015 kept them in the attachment store), brought into the store once, so the
Downloads page lists and serves them under the same area rules as the ones made since.

It runs when the app upgrades its database (``sync_server.db.init_app``, at every start), so an
upgrade needs no step of its own; without the folder (every install made since) it costs one
``stat``. Processes starting together (gunicorn's workers, the loader) take turns on a lock on
the folder, and the later ones find the work done.

A file is read by its name alone, as the old Downloads page read it: ``sangjog-{place}-{code}-
{period}-{lang}.xlsx`` (``exports.geo.file_name``), the code's length saying its level (1 a Nepal
province, 2 a Bangladesh division, 3 a Nepal district, 4 a Bangladesh district, 5 a Nepal local
level) and the place's name having to be that code's (as ``geo.file_stem`` writes it, or as the
first versions did: the English name lower-cased, spaces made dashes); or ``sangjog-all-{period}-
{lang}.xlsx``, every area, listed only for those who see everything, as before. A name that reads
as no area, period and language, or as more than one, is left where it is and reported: it is
never given an area its name does not say.

Each workbook is put into the store, read back from it and checked against the file's sha256,
then listed (a ``scheduled_exports`` row dated by the file's time) in one transaction; only then
is the file removed. A file whose name is listed already is removed only when the listed
workbook has its sha256 (brought in before); another workbook of that name (made again since)
leaves it in place. What is left, and why, is written into ``NOT-IMPORTED.txt`` in the folder and
logged once: later starts find nothing new and say nothing. A file the store could not take
(object storage out of reach) is not written there, so the next start tries it again. A folder
left empty is removed.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from exports import geo
from exports.period import Period
from exports.words import LANGUAGES
from pipeline import claims
from pipeline.db import end_read, write_transaction
from pipeline.models import ScheduledExport
from pipeline.problems import Problem
from pipeline.storage import AnyStore

REPORT = "NOT-IMPORTED.txt"
LEVEL_BY_LENGTH = {1: "np_province", 2: "bd_division", 3: "np_district", 4: "bd_district",
                   5: "np_local_level"}
_CODE = re.compile(r"-(\d{1,5})(?=-)")
_FISCAL_SLUG = re.compile(r"(\d{4})-(\d{2})((?:-[QH][1-4])?)")
_CHUNK = 1024 * 1024

NOT_A_WORKBOOK = "not a workbook named sangjog-AREA-CODE-PERIOD-LANG.xlsx"
UNREADABLE = "its name names no known area with a period and a language (en, bn, ne)"
AMBIGUOUS = "its name reads as more than one area or period"
OTHER_LISTED = "another workbook of this name is listed already (made again since)"
DAMAGED = "the copy in the attachment store does not match the file's sha256"


@dataclass(frozen=True)
class Reading:
    """What a file name says: the area (a scope code, ``*`` for all), period and language."""

    area: str
    period: str
    lang: str


@dataclass
class Outcome:
    folder: Path
    brought: list[str] = field(default_factory=list)
    left: list[tuple[str, str]] = field(default_factory=list)  # name, why (final)
    failed: list[tuple[str, str]] = field(default_factory=list)  # name, error (tried again)

    def lines(self) -> list[str]:
        said = []
        if self.brought:
            said.append(f"{len(self.brought)} scheduled workbook(s) written by an earlier version "
                        f"into {self.folder} are now in the attachment store and listed on the "
                        "Downloads page; the files were removed")
        if self.left:
            said.append(f"{len(self.left)} file(s) in {self.folder} were left there, not listed "
                        f"(why: {self.folder / REPORT}): "
                        + "; ".join(f"{name}: {why}" for name, why in self.left))
        said += [f"{self.folder / name} could not be stored ({error}); the next start tries "
                 "again" for name, error in self.failed]
        return said


def read_name(name: str) -> Reading | str:
    """The area, period and language a workbook's name says, or why it says none."""
    if not (name.startswith("sangjog-") and name.endswith(".xlsx")):
        return NOT_A_WORKBOOK
    middle, _dash, lang = name[len("sangjog-"):-len(".xlsx")].rpartition("-")
    if lang not in LANGUAGES:
        return UNREADABLE
    readings = set()
    if middle.startswith("all-") and _is_period(middle[len("all-"):]):
        readings.add(Reading("*", middle[len("all-"):], lang))
    for found in _CODE.finditer(middle):
        stem, code, period = middle[:found.start()], found[1], middle[found.end() + 1:]
        place = geo.place(LEVEL_BY_LENGTH[len(code)], code)
        if place is None or not _is_period(period):
            continue
        if f"{stem}-{code}" == geo.file_stem(place) or stem == place.en.lower().replace(" ", "-"):
            readings.add(Reading(geo.scope_code(place), period, lang))
    if len(readings) > 1:
        return AMBIGUOUS
    return readings.pop() if readings else UNREADABLE


def _is_period(slug: str) -> bool:
    """Whether ``slug`` is a period as file names write it (``Period.slug``), or ``all`` (as
    ``sangjog export`` names a workbook of every period)."""
    if slug == "all":
        return True
    texts = [slug.replace("_", "..")]
    if fiscal := _FISCAL_SLUG.fullmatch(slug):  # 2083-84-Q1 is written 2083/84-Q1
        texts.append(f"{fiscal[1]}/{fiscal[2]}{fiscal[3]}")
    for text in texts:
        try:
            if Period.parse(text).slug == slug:
                return True
        except Problem:
            continue
    return False


def bring_in(session: Session, blobs: AnyStore, folder: Path) -> Outcome | None:
    """Bring the folder's workbooks into the store and the listing (see the module's text);
    None when there is nothing new: no folder, or only files reported before."""
    if not _new_files(folder):
        return None
    try:
        lock = os.open(folder, os.O_RDONLY)
    except FileNotFoundError:  # another process emptied and removed it
        return None
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when closed
        if not _new_files(folder):  # another process did it meanwhile
            return None
        outcome = Outcome(folder)
        for path in _files(folder):
            try:
                why = _bring(session, blobs, path)
            except Exception as exc:  # a store out of reach must not stop the start
                session.rollback()
                outcome.failed.append((path.name, f"{type(exc).__name__}: {exc}"))
                continue
            if why is None:
                outcome.brought.append(path.name)
            else:
                outcome.left.append((path.name, why))
        _write_report(folder, outcome.left)
        if not outcome.left and not outcome.failed:
            with contextlib.suppress(OSError):  # not empty (hidden files, folders) or mounted
                folder.rmdir()  # emptied: later starts look no further than its absence
        return outcome
    finally:
        os.close(lock)


def _files(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir()
                      if p.is_file() and not p.name.startswith(".") and p.name != REPORT)
    except (FileNotFoundError, NotADirectoryError):
        return []


def _new_files(folder: Path) -> list[Path]:
    """The files not already reported as left (``NOT-IMPORTED.txt``)."""
    try:
        lines = (folder / REPORT).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        lines = []
    reported = {line.split("\t", 1)[0] for line in lines if line and not line.startswith("#")}
    return [p for p in _files(folder) if p.name not in reported]


def _write_report(folder: Path, left: list[tuple[str, str]]) -> None:
    report = folder / REPORT
    if not left:
        report.unlink(missing_ok=True)
        return
    tmp = folder / f".{REPORT}.part"
    tmp.write_text(
        "# Files Sangjog left here when it brought this folder's scheduled workbooks into the\n"
        "# attachment store (docs/deploy.md#upgrades). They are not listed on the Downloads page.\n"
        "# Rename one as sangjog-AREA-CODE-PERIOD-LANG.xlsx (sangjog-rangpur-5585-2026-Q3-en.xlsx)\n"
        "# and restart the server to bring it in, or remove it.\n"
        + "".join(f"{name}\t{why}\n" for name, why in left), encoding="utf-8")
    tmp.replace(report)


def _bring(session: Session, blobs: AnyStore, path: Path) -> str | None:
    """Store, list and remove one file (None), or say why it stays."""
    reading = read_name(path.name)
    if isinstance(reading, str):
        return reading
    digest, size = _sum(path)
    by_name = ScheduledExport.name == path.name
    end_read(session)
    listed = session.scalar(select(ScheduledExport.sha256).where(by_name))
    if listed is not None and listed != digest:
        return OTHER_LISTED
    if not _stored_whole(blobs, digest, size):  # the first time (or a store that lost it)
        with path.open("rb") as fh:
            if blobs.put(fh) != digest or not _stored_whole(blobs, digest, size):
                return DAMAGED
    if listed is None:
        made = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        end_read(session)
        with write_transaction(session):
            claims.ensure_row(session, ScheduledExport, by_name, name=path.name, area=reading.area,
                              period=reading.period, lang=reading.lang, sha256=digest, size=size,
                              created_at=made)
        if session.scalar(select(ScheduledExport.sha256).where(by_name)) != digest:
            return OTHER_LISTED  # another server listed its own workbook of that name first
        end_read(session)
    path.unlink()
    return None


def _sum(path: Path) -> tuple[str, int]:
    hashing, size = hashlib.sha256(), 0
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            hashing.update(chunk)
            size += len(chunk)
    return hashing.hexdigest(), size


def _stored_whole(blobs: AnyStore, digest: str, size: int) -> bool:
    """Whether the store holds exactly these bytes: read back and summed, never trusted."""
    hashing, read = hashlib.sha256(), 0
    try:
        with blobs.open(digest) as body:
            while chunk := body.read(_CHUNK):
                hashing.update(chunk)
                read += len(chunk)
    except FileNotFoundError:
        return False
    return read == size and hashing.hexdigest() == digest

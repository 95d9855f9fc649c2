"""Import filled forms copied off a phone: a Collect ``instances/`` folder (one subfolder per
filled form: the XML and its media) or an ODK Briefcase storage folder
(``instances/uuid…/submission.xml`` and media).

Every instance goes through ``ingest.accept`` with the files beside it; one already stored is
skipped, one that cannot be taken is refused with the reason, and the rest go on.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline import ingest, problems, rawstore, safe_xml
from pipeline.db import end_read
from pipeline.models import Submission
from pipeline.problems import Problem
from pipeline.storage import BlobStore

from . import runs

_EDIT = re.compile(rb"deprecatedID>\s*[^<\s]")


@dataclass
class ImportReport:
    """What an import did, instance by instance (paths relative to the folder imported)."""

    imported: list[str] = field(default_factory=list)  # instanceIDs stored now
    skipped: list[str] = field(default_factory=list)  # instanceIDs we already had
    refused: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    incomplete: list[tuple[str, list[str]]] = field(default_factory=list)  # (path, files missing)
    not_loaded: list[tuple[str, str]] = field(default_factory=list)  # stored, not loaded: (path, why)
    run_id: int | None = None

    def summary(self) -> str:
        return (f"{len(self.imported)} imported, {len(self.skipped)} already here, "
                f"{len(self.refused)} refused, {len(self.not_loaded)} stored but not loaded")

    @property
    def complete(self) -> bool:
        """Everything found is stored and loaded (``sangjog import instances`` exits 0)."""
        return not self.refused and not self.not_loaded


def find_instances(root: Path) -> list[Path]:
    """Instance XML files under ``root`` (or ``root`` itself), in a stable order."""
    if root.is_file():
        return [root]
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(Path(folder) / name for name in sorted(files)
                     if not name.startswith(".") and name.lower().endswith((".xml", ".xml.enc")))
    return found


def import_instances(session: Session, blobs: BlobStore,
                     path: str | os.PathLike[str]) -> ImportReport:
    """Import every instance under ``path``; the run is recorded as a ``PullRun``."""
    root = Path(path).expanduser()
    if not root.exists():
        raise problems.import_not_found(root)
    base = root.parent if root.is_file() else root
    report = ImportReport()
    run = runs.start(session, "import")
    report.run_id = run.row.id
    try:
        for xml_path in _originals_first(find_instances(root)):
            _import_one(session, blobs, run, report, xml_path, xml_path.relative_to(base).as_posix())
            run.checkpoint()
    except BaseException as exc:  # a crash or Ctrl-C is recorded, then re-raised
        run.finish("failed", "Stopped by Ctrl-C; importing again skips what is done."
                   if isinstance(exc, KeyboardInterrupt)
                   else f"Stopped by an unexpected error: {type(exc).__name__}")
        raise
    run.finish("ok", f"Import of {root}: {report.summary()}.")
    return report


def _import_one(session: Session, blobs: BlobStore, run: runs.Run, report: ImportReport,
                xml_path: Path, rel: str) -> None:
    if xml_path.name.lower().endswith(".enc"):
        _refuse(run, report, rel, "The instance is encrypted; decrypt it with ODK Briefcase "
                                  "and its private key first.")
        return
    xml = xml_path.read_bytes()
    try:
        envelope = rawstore.read_envelope(xml)
    except Problem as problem:
        if _is_form_definition(xml):  # a copied forms/ folder: not a filled form, not an error
            return
        _refuse(run, report, rel, problem.message)
        return
    existing = session.scalar(select(Submission).where(Submission.instance_id == envelope.instance_id))
    held = existing is not None and len(existing.attachments) >= existing.attachments_expected
    end_read(session)  # the ingest below writes in a transaction of its own
    if held:
        report.skipped.append(envelope.instance_id)
        run.skipped += 1
        return
    files = _media_beside(xml_path, xml)
    try:
        outcome = ingest.accept(session, blobs, ingest.Incoming(
            xml=xml, files=files, source="import", source_ref=rel[-255:]))
    except Problem as problem:
        end_read(session)
        _refuse(run, report, rel, problem.message)
        return
    sub = outcome.submission
    if sub.parse_status == "failed":
        report.not_loaded.append((rel, sub.parse_error or ""))
        run.not_loaded(rel, sub.parse_error)
    elif sub.parse_status == "ok":
        run.loaded += 1
    if outcome.status == "duplicate":
        report.skipped.append(envelope.instance_id)
        run.skipped += 1
    elif outcome.status == "attachments_added":
        report.imported.append(envelope.instance_id)
        run.updated += 1
    else:
        report.imported.append(envelope.instance_id)
        run.new += 1
    have = {a.name for a in sub.attachments}
    if len(have) < sub.attachments_expected:
        referenced = rawstore.binary_values(envelope.root, _binary_paths(session, sub))
        report.incomplete.append((rel, [n for n in referenced if n not in have]))


def _originals_first(paths: list[Path]) -> list[Path]:
    """Edits (they name the version they replace) after the instances they may replace."""
    def is_edit(path: Path) -> bool:
        try:
            return bool(_EDIT.search(path.read_bytes()))
        except OSError:
            return False
    return sorted(paths, key=is_edit)  # stable: folder order within each group


def _media_beside(xml_path: Path, xml: bytes) -> dict[str, bytes]:
    """Files in the instance's folder that the XML names (the raw store keeps only those)."""
    return {
        entry.name: entry.read_bytes()
        for entry in sorted(xml_path.parent.iterdir())
        if entry.is_file() and entry != xml_path and not entry.name.startswith(".")
        and entry.name.encode("utf-8") in xml
    }


def _binary_paths(session: Session, sub: Submission) -> frozenset[str]:
    version = next((v for v in sub.form.versions if v.version == sub.form_version), None)
    return rawstore.binary_paths(version.xml) if version is not None else frozenset()


def _is_form_definition(xml: bytes) -> bool:
    try:
        root = safe_xml.submission(xml)
    except Problem:
        return False
    return root.tag.rsplit("}", 1)[-1] == "html"


def _refuse(run: runs.Run, report: ImportReport, rel: str, why: str) -> None:
    report.refused.append((rel, why))
    run.error(rel, why)

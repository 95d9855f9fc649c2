"""Scheduled exports (``sangjog export schedule``): every district's workbook for a period, made
once however many app servers' cron start it, kept where every server's Downloads page finds it.

Once: a run claims its period and language (an ``export_runs`` row, ``pipeline.claims``, as pulls
claim a source). Another run of the same period and language, at the same time on any server,
finds it held and says so without doing anything; one started after it finished finds it done.
``force`` takes the claim whatever holds it and exports again. The run refreshes its claim after
each workbook; a run that went quiet past ``CLAIM_TIMEOUT`` (killed, machine off) is taken over,
and if it was only slow it stops at its next workbook (``export.taken_over``).

Shared: each workbook goes into the attachment store (``BLOB_STORE``: the local folder, or
S3-compatible object storage that every server reads) under its sha256, and a
``scheduled_exports`` row names it, its area, period and language. The row is written in the
transaction that refreshes the claim, so only the run holding the claim publishes. ``out_dir``
instead writes the workbooks into a folder, with no claim and no listing, as a plain cron job.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from exports import geo
from exports.period import Period
from exports.xlsx import build_workbook
from pipeline import claims, loader, problems, warehouse
from pipeline.db import end_read, write_transaction
from pipeline.models import ExportRun, Form, ScheduledExport, utcnow
from pipeline.schema import table_name
from pipeline.storage import AnyStore

# A claim not refreshed for this long is taken over: longer than one district's workbook takes
# (19 s for 10,000 inspections at a million, docs/benchmarks.md).
CLAIM_TIMEOUT = timedelta(minutes=15)
EXPORT_CLAIM = claims.Claimable(ExportRun, ExportRun.run_token, ExportRun.heartbeat,
                                ExportRun.owner)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class Outcome:
    """What a run did: the workbooks written (name, submissions), or why it did nothing."""

    period: str
    lang: str
    written: list[tuple[str, int]] = field(default_factory=list)
    skipped: str | None = None


def periods(text: str) -> tuple[Period, Period]:
    """The period for Bangladesh districts and for Nepal's (whose last-quarter is Nepal's last
    fiscal quarter)."""
    return Period.parse(text), Period.parse(text, country="np")


def run_key(bangladesh: Period, nepal: Period) -> str:
    """What a run is claimed by: ``2026-11``, or ``2026-Q3+2083-84-Q1`` when Nepal's differs."""
    return bangladesh.slug if nepal.slug == bangladesh.slug else f"{bangladesh.slug}+{nepal.slug}"


def districts_with_data(session: Session, period: Period) -> list[geo.Place]:
    """Every district with at least one submission in the period, in code order."""
    codes: set[str] = set()
    start, end = period.bounds()
    for form_id in session.scalars(select(Form.xml_form_id)):
        main = warehouse.form_tables(session.connection(), form_id).get(table_name(form_id))
        if main is not None and "district" in main.c:
            stmt = (select(main.c.district).distinct()
                    .where(main.c._submitted_at >= start, main.c._submitted_at < end))
            codes.update(c for c in session.scalars(stmt) if c)
    places = [geo.place("bd_district", c) or geo.place("np_district", c) for c in sorted(codes)]
    return [p for p in places if p is not None]


def _work(session: Session, bangladesh: Period, nepal: Period) -> Iterator[tuple[geo.Place, Period]]:
    places = [p for p in districts_with_data(session, bangladesh) if p.country == "bd"]
    places += [p for p in districts_with_data(session, nepal) if p.country == "np"]
    for place in places:
        yield place, nepal if place.country == "np" else bangladesh


def _name(place: geo.Place, period: Period, lang: str) -> str:
    return geo.file_name(geo.file_stem(place), period.slug, lang)


def run(session: Session, blobs: AnyStore, period_text: str, lang: str, server_url: str, *,
        force: bool = False, out_dir: Path | None = None,
        echo: Callable[[str], None] = lambda _line: None) -> Outcome:
    """Export every district with submissions in the period; see the module's text."""
    bangladesh, nepal = periods(period_text)
    outcome = Outcome(run_key(bangladesh, nepal), lang)
    if out_dir is not None:
        loader.load_pending(session)
        out_dir.mkdir(parents=True, exist_ok=True)
        for place, chosen in _work(session, bangladesh, nepal):
            path = out_dir / _name(place, chosen, lang)
            tmp = path.with_suffix(".xlsx.part")  # a half-written file never looks finished
            report = build_workbook(session, [geo.scope_code(place)], chosen, lang, tmp, server_url)
            tmp.replace(path)
            outcome.written.append((path.name, sum(report.submissions.values())))
            echo(f"{path}: {sum(report.submissions.values())} submissions")
        return outcome

    token = uuid.uuid4().hex
    where = (ExportRun.period == outcome.period) & (ExportRun.lang == lang)
    outcome.skipped = _claim(session, where, outcome, token, force)
    if outcome.skipped is not None:
        return outcome
    try:
        loader.load_pending(session)
        for place, chosen in _work(session, bangladesh, nepal):
            name = _name(place, chosen, lang)
            with tempfile.TemporaryDirectory(dir=blobs.spool_dir()) as folder:
                path = Path(folder) / name
                report = build_workbook(session, [geo.scope_code(place)], chosen, lang, path,
                                        server_url)
                with path.open("rb") as fh:
                    digest = blobs.put(fh)
                size = path.stat().st_size
            rows = sum(report.submissions.values())
            _publish(session, where, token, outcome.period, ScheduledExport(
                name=name, area=geo.scope_code(place), period=chosen.slug, lang=lang,
                sha256=digest, size=size, created_at=utcnow()))
            outcome.written.append((name, rows))
            echo(f"{name}: {rows} submissions")
    except BaseException as exc:
        session.rollback()
        with write_transaction(session):
            claims.release(session, EXPORT_CLAIM, where, token, status="failed",
                           finished_at=utcnow(), finished_by=claims.owner(),
                           workbooks=len(outcome.written),
                           message=getattr(exc, "message", None) or type(exc).__name__)
        raise
    with write_transaction(session):
        claims.release(session, EXPORT_CLAIM, where, token, status="done", finished_at=utcnow(),
                       finished_by=claims.owner(), workbooks=len(outcome.written), message=None)
    return outcome


def _claim(session: Session, where, outcome: Outcome, token: str, force: bool) -> str | None:
    """Claim the run (None), or say why this run has nothing to do."""
    end_read(session)
    with write_transaction(session):
        claims.ensure_row(session, ExportRun, where, period=outcome.period, lang=outcome.lang,
                          status="new", workbooks=0)
        holder = claims.take(session, EXPORT_CLAIM, where, token, timeout=CLAIM_TIMEOUT, force=force,
                             only_if=None if force else ExportRun.status != "done")
        if holder is None:
            session.execute(update(ExportRun).where(where).values(
                status="running", started_at=utcnow(), finished_at=None, finished_by=None,
                workbooks=0, message=None).execution_options(synchronize_session=False))
            return None
        found = session.execute(select(ExportRun).where(where)
                                .execution_options(populate_existing=True)).scalar_one()
        session.expunge(found)
    what = f"{outcome.period} in {outcome.lang}"
    if found.status == "done":
        return (f"{what} was already exported at {found.finished_at:%Y-%m-%d %H:%M} UTC"
                f"{claims.describe_owner(found.finished_by)} ({found.workbooks} workbooks); "
                "nothing to do. --force exports it again.")
    since = f" since {found.started_at:%H:%M} UTC" if found.started_at else ""
    heard = (f", last heard of {int((utcnow() - _aware(found.heartbeat)).total_seconds())} s ago"
             if found.heartbeat else "")
    return (f"{what} is already being exported{claims.describe_owner(found.owner)}{since}"
            f"{heard}; nothing to do. If that run is gone, --force takes it over.")


def _aware(when):
    return when if when.tzinfo else when.replace(tzinfo=utcnow().tzinfo)


def _publish(session: Session, where, token: str, period: str, made: ScheduledExport) -> None:
    """List the workbook, if this run still holds its claim (else ``export.taken_over``)."""
    end_read(session)  # the reads that built it end here: the write starts on its own
    with write_transaction(session):
        if not claims.refresh(session, EXPORT_CLAIM, where, token):
            raise problems.export_taken_over(period, int(CLAIM_TIMEOUT.total_seconds() // 60))
        by_name = ScheduledExport.name == made.name
        claims.ensure_row(session, ScheduledExport, by_name, name=made.name, area=made.area,
                          period=made.period, lang=made.lang, sha256=made.sha256, size=made.size)
        session.execute(update(ScheduledExport).where(by_name).values(
            area=made.area, period=made.period, lang=made.lang, sha256=made.sha256,
            size=made.size, created_at=made.created_at)
            .execution_options(synchronize_session=False))


def listed(session: Session, visible: Callable[[str], bool], limit: int = 100) -> list[ScheduledExport]:
    """The newest scheduled workbooks whose area ``visible`` allows, at most ``limit``."""
    found = []
    for made in session.scalars(select(ScheduledExport)
                                .order_by(ScheduledExport.created_at.desc(),
                                          ScheduledExport.id.desc())):
        if visible(made.area):
            found.append(made)
            if len(found) == limit:
                break
    return found


def find(session: Session, name: str, visible: Callable[[str], bool]) -> ScheduledExport | None:
    """The scheduled workbook of that name, if ``visible`` allows its area."""
    made = session.scalar(select(ScheduledExport).where(ScheduledExport.name == name))
    return made if made is not None and visible(made.area) else None

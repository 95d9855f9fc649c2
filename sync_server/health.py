"""``/healthz`` for monitors and ``/metrics`` for Prometheus.

``/healthz`` is open and says only 200 ``ok`` or 503 ``unavailable``: the database answers, the
attachment store takes a file, the loader's backlog is under ``HEALTH_MAX_BACKLOG`` and the data
folder's disk has ``HEALTH_MIN_FREE_MB`` free. Which check failed goes to the log, never to the
caller. ``/metrics`` answers only a bearer of ``METRICS_TOKEN`` (404 while it is unset).

Counters (uploads by outcome, responses by code) are counted by each worker process; under
``sangjog serve`` they are kept in files (``prometheus_client``'s multi-process mode, the folder
``metrics/`` in the data folder, emptied at each start) so a scrape sums every worker. What the
database and the disk know (the loader's backlog and lag, pull runs by outcome, disk free) is
read at each scrape.
"""

from __future__ import annotations

import hmac
import logging
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import func, select, text

from pipeline import problems
from pipeline.db import end_read
from pipeline.models import IS_PENDING, PullRun, Submission

from .db import get_blobs, get_session

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
UPLOADS = Counter("sangjog_uploads", "Submission uploads (Collect and browser forms) by outcome",
                  ["outcome"])
RESPONSES = Counter("sangjog_http_responses", "HTTP responses by status code", ["code"])
# Where an upload's answer says how it went; any other answer by its status.
_OUTCOME = "sangjog.upload_outcome"
_UPLOAD_ENDPOINTS = {"openrosa.submission", "browser_forms.submit", "form_links.link_submit"}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.after_request(_count)


def upload_outcome(status: str) -> None:
    """Name the outcome of the upload this request made (``created``, ``duplicate``, …)."""
    request.environ[_OUTCOME] = status


def _count(response: Response) -> Response:
    RESPONSES.labels(str(response.status_code)).inc()
    if request.endpoint in _UPLOAD_ENDPOINTS and request.method == "POST":
        outcome = request.environ.get(_OUTCOME)
        if outcome is None:
            code = response.status_code
            outcome = ("refused" if code < 500 else "unavailable" if code == 503 else "error")
        UPLOADS.labels(outcome).inc()
    return response


@bp.route("/healthz")
def healthz() -> Response:
    failed = [name for name, check in _CHECKS.items() if not _passes(name, check)]
    if failed:
        log.warning("health check failed: %s", ", ".join(failed))
        return Response("unavailable\n", status=503, mimetype="text/plain",
                        headers={"Cache-Control": "no-store", "Retry-After": "30"})
    return Response("ok\n", mimetype="text/plain", headers={"Cache-Control": "no-store"})


def _passes(name: str, check) -> bool:  # noqa: ANN001
    try:
        return bool(check())
    except Exception as exc:  # noqa: BLE001 - a failed check is an answer, not a crash
        log.warning("health check %s: %s", name, getattr(exc, "orig", None) or exc)
        return False
    finally:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


def _database() -> bool:
    return get_session().execute(text("SELECT 1")).scalar() == 1


def _attachment_store() -> bool:
    get_blobs().check_writable()
    return True


def _backlog_bounded() -> bool:
    bound = int(current_app.config["HEALTH_MAX_BACKLOG"])
    return _pending(limit=bound + 1) <= bound


def _disk_free() -> bool:
    return _free_bytes() >= int(current_app.config["HEALTH_MIN_FREE_MB"]) * 1024 * 1024


_CHECKS = {"database": _database, "attachment store": _attachment_store,
           "loader backlog": _backlog_bounded, "disk free": _disk_free}


def _pending(limit: int | None = None) -> int:
    query = select(Submission.id).where(IS_PENDING)
    if limit is not None:
        query = query.limit(limit)
    return get_session().scalar(select(func.count()).select_from(query.subquery())) or 0


def _free_bytes() -> int:
    return shutil.disk_usage(current_app.config["SANGJOG_DATA_DIR"]).free


@bp.route("/metrics")
def metrics() -> Response:
    token = current_app.config.get("METRICS_TOKEN")
    if not token:
        raise problems.not_found("This page")
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return Response("A bearer token is needed (METRICS_TOKEN).\n", status=401,
                        mimetype="text/plain", headers={"WWW-Authenticate": "Bearer"})
    if os.environ.get(MULTIPROCESS_ENV):
        counted = CollectorRegistry()
        multiprocess.MultiProcessCollector(counted)
    else:
        counted = REGISTRY
    known = CollectorRegistry()
    known.register(_Known())
    body = generate_latest(counted) + generate_latest(known)
    return Response(body, headers={"Content-Type": CONTENT_TYPE_LATEST,
                                   "Cache-Control": "no-store"})


class _Known:
    """What the database and the disk know, read at each scrape."""

    def collect(self) -> Iterator[Metric]:
        session = get_session()
        yield GaugeMetricFamily("sangjog_loader_backlog",
                                "Stored submissions not yet loaded into the warehouse",
                                value=_pending())
        oldest = session.scalar(select(func.min(Submission.received_at)).where(IS_PENDING))
        lag = 0.0
        if oldest is not None:
            oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)
            lag = max(0.0, (datetime.now(UTC) - oldest).total_seconds())
        yield GaugeMetricFamily("sangjog_loader_lag_seconds",
                                "Age of the oldest submission waiting to be loaded", value=lag)
        runs = CounterMetricFamily("sangjog_pull_runs", "Pull and import runs by kind and outcome",
                                   labels=["kind", "outcome"])
        for kind, status, count in session.execute(
                select(PullRun.kind, PullRun.status, func.count())
                .group_by(PullRun.kind, PullRun.status)):
            runs.add_metric([kind, status], count)
        yield runs
        end_read(session)
        yield GaugeMetricFamily("sangjog_disk_free_bytes",
                                "Free space on the data folder's disk", value=_free_bytes())

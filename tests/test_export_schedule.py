"""``sangjog export schedule`` runs once per period and language, however many servers' cron
start it: the claim (taken, refused, done, forced, taken over) and where the workbooks go.

The districts and the workbook builder are stand-ins here (what is built is
tests/test_export_cli.py's); what is counted is how often each workbook is built and listed.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from exports import geo, scheduled
from pipeline import claims
from pipeline.db import make_engine, session_factory, writer_for
from pipeline.models import ExportRun, ScheduledExport, utcnow
from pipeline.problems import Problem
from sync_server.cli import cli

PLACES = [geo.place("bd_district", "5527"), geo.place("bd_district", "3033")]
NAMES = ["sangjog-dinajpur-5527-2026-08-en.xlsx", "sangjog-gazipur-3033-2026-08-en.xlsx"]


class Builder:
    """Stands in for ``build_workbook``: counts the workbooks built, and can act mid-run."""

    def __init__(self) -> None:
        self.built: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.during = None

    def __call__(self, session, scope, period, lang, out, server_url):
        with self.lock:
            self.built[out.name] += 1
        out.write_bytes(f"{scope} {period} {lang} {self.built[out.name]}".encode())
        if self.during is not None:
            self.during()
        return type("Report", (), {"submissions": {"x": 1}})()


@pytest.fixture
def builder(monkeypatch) -> Builder:
    made = Builder()
    monkeypatch.setattr(scheduled, "build_workbook", made)
    monkeypatch.setattr(scheduled, "districts_with_data", lambda _session, _period: PLACES)
    return made


def listed(session) -> dict[str, str]:
    session.rollback()
    return dict(session.execute(select(ScheduledExport.name, ScheduledExport.sha256)).all())


def test_two_servers_started_together_build_each_workbook_once(app, builder):
    """Cron starts the same run on two servers at the same moment (two engines on one database,
    released together into ``scheduled.run``): one claims the period and builds every workbook,
    the other finds it being exported, says so and does nothing. The builder holds the first
    workbook until the other run has answered, so the claim it meets is still running."""
    servers = [make_engine(app.config["DATABASE_URL"]) for _ in range(2)]
    together = threading.Barrier(len(servers), timeout=30)
    answered = threading.Event()  # the run that found the period taken has returned
    held: list[bool] = []
    builder.during = lambda: held.append(answered.wait(timeout=30))
    outcomes, failures = [], []

    def one_server(engine) -> None:
        with session_factory(engine)() as session:
            together.wait()
            try:
                outcome = scheduled.run(session, app.extensions["blobs"], "2026-08", "en",
                                        "http://x")
            except BaseException as exc:  # shown below
                failures.append(exc)
                return
            outcomes.append(outcome)
            if outcome.skipped:
                answered.set()

    threads = [threading.Thread(target=one_server, args=(e,), daemon=True) for e in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for engine in servers:
        writer_for(engine).close()
        engine.dispose()
    assert not failures, failures
    assert sorted(builder.built.items()) == [(name, 1) for name in NAMES]
    assert held and all(held)  # the other run answered while this one held the claim
    worked = [o for o in outcomes if not o.skipped]
    idle = [o for o in outcomes if o.skipped]
    assert len(worked) == 1 and len(idle) == 1
    assert sorted(name for name, _rows in worked[0].written) == NAMES and not idle[0].written
    assert "2026-08 in en is already being exported by " in idle[0].skipped
    assert "nothing to do. If that run is gone, --force takes it over." in idle[0].skipped
    with app.app_context():
        session = app.extensions["sessions"]()
        assert sorted(listed(session)) == NAMES
        run = session.scalar(select(ExportRun))
        assert (run.status, run.workbooks, run.run_token) == ("done", 2, None)
        session.close()


def test_a_done_period_is_not_redone_unless_forced(app, session, runner, builder):
    first = runner.invoke(cli, args=["export", "schedule", "--period", "2026-08"])
    assert first.exit_code == 0, first.output
    assert "2 district workbooks for 2026-08 in en in the Downloads page" in first.output
    before = listed(session)
    again = runner.invoke(cli, args=["export", "schedule", "--period", "2026-08"])
    assert again.exit_code == 0, again.output
    assert "2026-08 in en was already exported at " in again.output
    assert "(2 workbooks); nothing to do. --force exports it again." in again.output
    assert sum(builder.built.values()) == 2 and listed(session) == before
    # Another language is another run.
    other = runner.invoke(cli, args=["export", "schedule", "--period", "2026-08", "--lang", "bn"])
    assert other.exit_code == 0 and sum(builder.built.values()) == 4, other.output
    forced = runner.invoke(cli, args=["export", "schedule", "--period", "2026-08", "--force"])
    assert forced.exit_code == 0, forced.output
    assert [builder.built[name] for name in NAMES] == [2, 2]
    after = listed(session)
    assert set(after) == set(before) | {n.replace("-en.", "-bn.") for n in NAMES}
    assert all(after[n] != before[n] for n in NAMES)  # the new workbooks replace the old
    assert session.scalar(select(func.count()).select_from(ExportRun)) == 2


def _held(session, owner: str, heartbeat_age: timedelta) -> None:
    session.add(ExportRun(period="2026-08", lang="en", status="running", run_token="other",
                          owner=owner, heartbeat=utcnow() - heartbeat_age,
                          started_at=utcnow() - timedelta(minutes=7), workbooks=0))
    session.commit()


def test_a_live_run_elsewhere_is_left_alone_and_force_takes_it(app, session, runner, builder):
    _held(session, "other-server - 4242 sangjog", timedelta(seconds=5))
    result = runner.invoke(cli, args=["export", "schedule", "--period", "2026-08"])
    assert result.exit_code == 0, result.output
    assert ("2026-08 in en is already being exported by sangjog on other-server (process 4242)"
            in result.output)
    assert "If that run is gone, --force takes it over." in result.output
    assert not builder.built and not listed(session)
    forced = runner.invoke(cli, args=["export", "schedule", "--period", "2026-08", "--force"])
    assert forced.exit_code == 0, forced.output
    assert sorted(listed(session)) == NAMES


def test_a_run_that_went_quiet_or_whose_process_is_gone_is_taken_over(app, session, runner,
                                                                      builder):
    import subprocess
    import sys

    _held(session, "other-server - 4242 sangjog", scheduled.CLAIM_TIMEOUT + timedelta(seconds=1))
    result = runner.invoke(cli, args=["export", "schedule", "--period", "2026-08"])
    assert result.exit_code == 0 and sorted(listed(session)) == NAMES, result.output
    session.execute(update(ExportRun).values(status="running", run_token="other"))
    session.commit()
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    host, boot, _pid, _user = claims.owner().split(" ")  # this machine, since its last boot
    session.execute(update(ExportRun).values(
        heartbeat=utcnow(), owner=f"{host} {boot} {ended.stdout.strip()} sangjog"))
    session.commit()
    result = runner.invoke(cli, args=["export", "schedule", "--period", "2026-08"])
    assert result.exit_code == 0 and "2 district workbooks" in result.output, result.output
    assert sum(builder.built.values()) == 4


def test_a_slow_run_taken_over_stops_and_lists_nothing_more(app, session, builder):
    def taken_over() -> None:  # another server forced the run while this one built
        with app.app_context():
            other = app.extensions["sessions"]()
            other.execute(update(ExportRun).values(run_token="forced", heartbeat=utcnow()))
            other.commit()
            other.close()

    builder.during = taken_over
    with pytest.raises(Problem) as stopped:
        scheduled.run(session, app.extensions["blobs"], "2026-08", "en", "http://x")
    assert stopped.value.code == "export.taken_over"
    assert not listed(session)
    run = session.scalar(select(ExportRun))
    assert (run.run_token, run.status) == ("forced", "running")  # the new holder's, untouched


def test_out_writes_a_folder_every_time_and_lists_nothing(app, session, runner, builder,
                                                          tmp_path):
    for _ in range(2):
        result = runner.invoke(cli, args=["export", "schedule", "--period", "2026-08",
                                          "--out", str(tmp_path / "out")])
        assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == NAMES
    assert sum(builder.built.values()) == 4
    assert not listed(session) and session.scalar(select(func.count()).select_from(ExportRun)) == 0


def test_the_workbooks_are_objects_the_database_refers_to(app, session, builder, tmp_path):
    """`blobs check` finds them (not orphans), and a backup holds them, so a restored server
    serves what its Downloads page lists."""
    import tarfile
    from pathlib import Path

    from pipeline import blob_tools
    from pipeline.backup import backup

    scheduled.run(session, app.extensions["blobs"], "2026-08", "en", "http://x")
    digests = set(listed(session).values())
    report = blob_tools.check(session, app.extensions["blobs"])
    assert digests <= set(blob_tools.referenced(session)) and not report.missing
    assert not digests & set(report.orphans)
    if app.config["DATABASE_URL"].startswith("sqlite"):  # one backup is enough to show it
        session.close()
        archive = tmp_path / "backup.tar"
        backup(app.config["DATABASE_URL"], Path(app.config["SANGJOG_DATA_DIR"]), archive,
               store=app.extensions["blobs"])
        with tarfile.open(archive) as tar:
            held = {Path(name).name for name in tar.getnames() if name.startswith("blobs/")}
        assert digests <= held


@pytest.mark.both_stores
@pytest.mark.usefixtures("fast_hashing")
def test_the_downloads_page_serves_a_districts_workbook_only_to_its_people(app, session, builder):
    """The Downloads door, from the folder and from object storage: a district officer lists and
    downloads their district's scheduled workbook; another district's reads as no file at all."""
    from pipeline import accounts
    from tests import builders

    scheduled.run(session, app.extensions["blobs"], "2026-08", "en", "http://x")
    accounts.create_user(session, "do_dinajpur", builders.PASSWORD, "district_officer",
                         ["bd_district:5527"])
    session.commit()
    client = builders.login(app.test_client(), "do_dinajpur")
    page = client.get("/downloads").get_data(as_text=True)
    own, other = NAMES
    assert own in page and other not in page
    got = client.get(f"/downloads/files/{own}")
    assert got.status_code == 200 and got.data == b"['bd_district:5527'] 2026-08 en 1"
    assert "attachment" in got.headers["Content-Disposition"]
    refused = client.get(f"/downloads/files/{other}")
    assert refused.status_code == 404 and b"bd_district:3033" not in refused.data


def test_a_run_that_fails_is_recorded_and_the_next_one_does_the_period(app, session, builder):
    def broken() -> None:
        builder.during = None
        raise RuntimeError("disk gone")

    builder.during = broken
    with pytest.raises(RuntimeError):
        scheduled.run(session, app.extensions["blobs"], "2026-08", "en", "http://x")
    run = session.scalar(select(ExportRun))
    session.refresh(run)
    assert (run.status, run.run_token, run.message) == ("failed", None, "RuntimeError")
    assert not listed(session)  # the workbook built before the failure was not listed
    again = scheduled.run(session, app.extensions["blobs"], "2026-08", "en", "http://x")
    assert not again.skipped and sorted(listed(session)) == NAMES

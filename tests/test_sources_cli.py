"""``sangjog source``, ``sangjog pull`` and ``sangjog import instances`` as an admin types them,
against fake KoBoToolbox and ODK Central servers. Secrets never appear in what is printed."""

from __future__ import annotations

import logging
import os
import re
import signal
import threading
import time

import pytest
from sqlalchemy import create_engine, func, select

from pipeline.connectors import sources as configured
from pipeline.models import AuditEvent, PullRun, Source, Submission
from sync_server.cli import cli
from sync_server.commands import sources as sources_command
from tests import builders
from tests.connector_helpers import JPEG, held_pull, runs_of, served
from tests.fakes.central_server import FakeCentral
from tests.fakes.kobo_server import FakeKobo

BULK = 600  # past Central's 250-row pages twice; bench/pull.py pulls 2,500


@pytest.fixture
def kobo_fake():
    with served(FakeKobo()) as server:
        yield server


@pytest.fixture
def central_fake():
    with served(FakeCentral()) as server:
        yield server


@pytest.fixture
def form(session):
    return builders.publish(session, "site_visit").form


def run(runner, *args, env=None):
    return runner.invoke(cli, args=list(args), env=env, catch_exceptions=False)


def add_kobo(runner, fake, name="kobo-dhaka", token=None, *more):
    return run(runner, "source", "add", "kobo", name, "--url", fake.url, "--token-env", "KOBO_T",
               "--asset", fake.asset, "--form", "site_visit", *more,
               env={"KOBO_T": token or fake.token})


def add_central(runner, fake, name="central-np"):
    return run(runner, "source", "add", "central", name, "--url", fake.url, "--email", fake.email,
               "--password-env", "CENTRAL_PW", "--project", fake.project, "--remote-form",
               fake.form, "--form", "site_visit", env={"CENTRAL_PW": fake.password})


def test_add_list_and_remove_sources_without_showing_secrets(runner, session, form, kobo_fake,
                                                             central_fake, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    secrets = [kobo_fake.token, central_fake.password]
    outputs = [add_kobo(runner, kobo_fake).output, add_central(runner, central_fake).output]
    assert "Source 'kobo-dhaka' added" in outputs[0]
    listed = run(runner, "source", "list")
    assert listed.exit_code == 0
    assert "kobo-dhaka\tkobo" in listed.output and "central-np\tcentral" in listed.output
    assert f"{central_fake.project}:{central_fake.form} → site_visit" in listed.output
    assert "never pulled" in listed.output
    outputs.append(listed.output)
    session.rollback()
    saved = {s.name: s for s in session.scalars(select(Source))}
    assert saved["kobo-dhaka"].secret == kobo_fake.token
    assert saved["central-np"].username == central_fake.email
    details = [repr(e.details) for e in session.scalars(select(AuditEvent))]
    assert len(details) >= 2
    removed = run(runner, "source", "remove", "central-np")
    assert removed.exit_code == 0 and "removed" in removed.output
    assert "central-np" not in run(runner, "source", "list").output
    texts = [*outputs, *details, caplog.text]
    assert not [t for t in texts for s in secrets if s in t]


def test_token_from_a_file_and_clear_refusals(runner, form, kobo_fake, tmp_path):
    token_file = tmp_path / "kobo.token"
    token_file.write_text(kobo_fake.token + "\n")
    ok = run(runner, "source", "add", "kobo", "from-file", "--url", kobo_fake.url,
             "--token-file", str(token_file), "--asset", kobo_fake.asset, "--form", "site_visit")
    assert ok.exit_code == 0, ok.output
    again = add_kobo(runner, kobo_fake, name="from-file")
    assert again.exit_code == 1 and "already exists" in again.output
    unknown = run(runner, "source", "add", "kobo", "x", "--url", kobo_fake.url, "--token-env",
                  "KOBO_T", "--asset", "a1", "--form", "no_such_form", env={"KOBO_T": "abc"})
    assert unknown.exit_code == 1 and "No form with id 'no_such_form'" in unknown.output
    no_env = run(runner, "source", "add", "kobo", "y", "--url", kobo_fake.url, "--token-env",
                 "UNSET_VAR_FOR_TEST", "--asset", "a1", "--form", "site_visit")
    assert no_env.exit_code == 1 and "UNSET_VAR_FOR_TEST is not set" in no_env.output
    bad_url = run(runner, "source", "add", "kobo", "z", "--url", "kf.kobotoolbox.org",
                  "--token-env", "KOBO_T", "--asset", "a1", "--form", "site_visit",
                  env={"KOBO_T": "abc"})
    assert bad_url.exit_code == 1 and "https://" in bad_url.output
    clear = ["source", "add", "kobo", "plain", "--url", "http://kobo.example.org", "--token-env",
             "KOBO_T", "--asset", "a1", "--form", "site_visit"]
    refused = run(runner, *clear, env={"KOBO_T": "abc"})
    assert refused.exit_code == 1 and "clear text" in refused.output
    assert run(runner, *clear, "--insecure", "--no-check", env={"KOBO_T": "abc"}).exit_code == 0
    assert run(runner, "source", "remove", "nope").exit_code == 1


def test_pull_brings_submissions_from_every_source(runner, session, form, kobo_fake,
                                                   central_fake):
    kobo_fake.add(builders.site_visit("uuid:k1", photo="a.jpg"), {"a.jpg": JPEG})
    central_fake.add(builders.site_visit("uuid:c1"))
    central_fake.add(builders.site_visit("uuid:c2"))
    add_kobo(runner, kobo_fake)
    add_central(runner, central_fake)
    result = run(runner, "pull")
    assert result.exit_code == 0, result.output
    assert ("kobo-dhaka: 1 new, 0 updated, 0 skipped, 0 errors, 1 loaded, 0 not loaded (ok)"
            in result.output)
    assert ("central-np: 2 new, 0 updated, 0 skipped, 0 errors, 2 loaded, 0 not loaded (ok)"
            in result.output)
    session.rollback()
    assert sorted(s.instance_id for s in session.scalars(select(Submission))) == [
        "uuid:c1", "uuid:c2", "uuid:k1"]
    one = run(runner, "pull", "central-np")
    assert "central-np: 0 new" in one.output and "kobo-dhaka" not in one.output
    assert "last pull" in run(runner, "source", "list").output


def test_one_pull_brings_every_central_submission_past_every_page(runner, session, form,
                                                                  central_fake):
    """Central answers 501 to $orderby with the $skiptoken of its next links: the pull pages by
    submission date instead, so one run brings everything (page size 250)."""
    for n in range(BULK):
        photo = f"p{n}.jpg" if n % 50 == 0 else None
        central_fake.add(builders.site_visit(f"uuid:bulk-{n:05d}", name=f"Visitor {n}",
                                             photo=photo),
                         {photo: JPEG} if photo else None)
    add_central(runner, central_fake)
    result = run(runner, "pull", "central-np")
    assert result.exit_code == 0, result.output
    assert (f"central-np: {BULK} new, 0 updated, 0 skipped, 0 errors, {BULK} loaded, "
            "0 not loaded (ok)" in result.output)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Submission)) == BULK
    assert not [args for _path, args in central_fake.requests if "$skiptoken" in args]
    # Not a terminal: a progress line every PROGRESS_EVERY submissions, for cron logs.
    assert re.search(rf"central-np: {sources_command.PROGRESS_EVERY} of {BULK} submissions at "
                     r"\d\d:\d\d:\d\d UTC", result.output)


def test_source_test_and_edit_rotate_the_token_keeping_the_cursor(runner, session, form,
                                                                   kobo_fake, monkeypatch):
    kobo_fake.add(builders.site_visit("uuid:k1"))
    assert add_kobo(runner, kobo_fake).exit_code == 0
    tested = run(runner, "source", "test", "kobo-dhaka")
    assert tested.exit_code == 0 and "1 submissions there" in tested.output
    assert run(runner, "pull", "kobo-dhaka").exit_code == 0
    session.rollback()
    cursor = configured.get(session, "kobo-dhaka").cursor
    kobo_fake.token = "a-rotated-token-7654321"  # the old one is revoked on KoBo
    assert run(runner, "source", "test", "kobo-dhaka").exit_code == 1
    wrong = run(runner, "source", "edit", "kobo-dhaka", "--token-env", "NEW_T",
                env={"NEW_T": "still-not-it-0000"})
    assert wrong.exit_code == 1 and "refused the API token" in wrong.output  # not saved
    rotated = run(runner, "source", "edit", "kobo-dhaka", "--token-env", "NEW_T",
                  env={"NEW_T": kobo_fake.token})
    assert rotated.exit_code == 0, rotated.output
    session.rollback()
    source = configured.get(session, "kobo-dhaka")
    assert source.secret == kobo_fake.token and source.cursor == cursor
    kobo_fake.add(builders.site_visit("uuid:k2"))
    after = run(runner, "pull", "kobo-dhaka")
    assert after.exit_code == 0 and "1 new, 0 updated, 0 skipped" in after.output
    edits = session.scalars(select(AuditEvent).where(AuditEvent.action == "source.edit")).all()
    assert len(edits) == 1 and kobo_fake.token not in str(edits[0].details)


def test_stored_but_not_loaded_exits_3_is_retried_and_can_be_dismissed(runner, session, form,
                                                                       central_fake,
                                                                       monkeypatch):
    from pipeline import loader

    retried: list[list[int]] = []
    the_retry = loader.retry
    monkeypatch.setattr(loader, "retry", lambda s, ids, **kw: (retried.append(list(ids)),
                                                                the_retry(s, ids, **kw))[1])
    # Central keeps the XML as sent: a field our form does not have stores, but cannot load.
    central_fake.add(builders.site_visit("uuid:c1").replace(b"<name>", b"<extra>x</extra><name>"))
    central_fake.add(builders.site_visit("uuid:c2"))
    add_central(runner, central_fake)
    first = run(runner, "pull", "central-np")
    assert first.exit_code == sources_command.EXIT_NOT_LOADED == 3, first.output
    assert "2 new, 0 updated, 0 skipped, 0 errors, 1 loaded, 1 not loaded (incomplete)" in first.output
    assert "uuid:c1: stored, not loaded: Field '/site_visit/extra' is not in form" in first.output
    again = run(runner, "pull", "central-np")  # retried, and still not loaded
    assert again.exit_code == 3
    assert "0 new, 0 updated, 0 skipped, 0 errors, 0 loaded, 1 not loaded (incomplete)" in again.output
    assert len(retried) == 1  # the pull retries through the web's own retry (loader.retry)
    assert run(runner, "source", "dismiss", "uuid:c2").exit_code == 1  # it loaded: nothing to do
    assert run(runner, "source", "dismiss", "uuid:c1").exit_code == 0
    last = run(runner, "pull", "central-np")
    assert last.exit_code == 0 and "0 not loaded (ok)" in last.output
    session.rollback()
    assert session.scalars(select(AuditEvent).where(
        AuditEvent.action == "submission.dismiss")).one().actor == "cli"


def test_a_failed_pull_exits_1_and_says_why_without_the_secret(runner, session, form,
                                                               kobo_fake):
    checked = add_kobo(runner, kobo_fake, "kobo-dhaka", "a-wrong-token-1234567")
    assert checked.exit_code == 1 and "refused the API token" in checked.output  # nothing saved
    assert "a-wrong-token-1234567" not in checked.output
    add_kobo(runner, kobo_fake, "kobo-dhaka", "a-wrong-token-1234567", "--no-check")
    assert run(runner, "source", "test", "kobo-dhaka").exit_code == 1
    result = run(runner, "pull", "kobo-dhaka")
    assert result.exit_code == 1
    assert "refused the API token" in result.output
    assert "a-wrong-token-1234567" not in result.output
    session.rollback()
    assert session.scalars(select(PullRun)).one().status == "failed"
    assert run(runner, "pull", "nope").exit_code == 1


def test_pull_every_stops_after_times_pulls(runner, session, form, kobo_fake):
    add_kobo(runner, kobo_fake)
    kobo_fake.add(builders.site_visit("uuid:first"))
    started = time.monotonic()
    # Should --times be ignored, Ctrl-C after a minute ends the loop (and fails the test).
    guard = threading.Timer(60, os.kill, (os.getpid(), signal.SIGINT))
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    guard.start()
    try:
        result = run(runner, "pull", "--every", "0.002", "--times", "2")  # 0.12 s between pulls
    finally:
        guard.cancel()
        signal.signal(signal.SIGINT, previous)
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started >= 0.12  # it waited between the two pulls
    assert result.output.count("Pulling at") == 2
    assert result.output.count("kobo-dhaka: 1 new") == 1  # the second pull found nothing new
    assert result.output.rstrip().endswith("Stopped after 2 pulls.")
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Submission)) == 1
    assert [r.status for r in session.scalars(select(PullRun))] == ["ok", "ok"]
    assert "give --every too" in run(runner, "pull", "--times", "2").output
    assert run(runner, "pull", "--every", "1", "--times", "0").exit_code == 2


def test_ctrl_c_ends_the_wait_between_pulls(runner, database_url, form, kobo_fake):
    """Ctrl-C (SIGINT) while ``--every 10`` waits ends it at once, after the pull it made."""
    add_kobo(runner, kobo_fake)
    kobo_fake.add(builders.site_visit("uuid:first"))
    engine = create_engine(database_url)

    def interrupt_once_pulled() -> None:
        deadline = time.monotonic() + 120  # the test fails rather than waits 10 minutes
        with engine.connect() as conn:
            while time.monotonic() < deadline:
                if conn.scalar(select(func.count()).select_from(PullRun)
                               .where(PullRun.status != "running")):
                    break
                conn.rollback()
                time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGINT)

    watcher = threading.Thread(target=interrupt_once_pulled)
    # Ctrl-C as a terminal delivers it, whatever an earlier test left as the handler.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    watcher.start()
    try:
        result = run(runner, "pull", "--every", "10")
    finally:
        watcher.join()
        signal.signal(signal.SIGINT, previous)
        engine.dispose()
    assert result.exit_code == 0, result.output
    assert result.output.count("Pulling at") == 1
    assert "kobo-dhaka: 1 new" in result.output
    assert result.output.rstrip().endswith("Stopped.")


def test_import_instances_prints_what_happened(runner, session, form, tmp_path):
    folder = tmp_path / "instances" / "site_visit_2026-11-20_09-00-00"
    folder.mkdir(parents=True)
    (folder / "site_visit_2026-11-20_09-00-00.xml").write_bytes(
        builders.site_visit("uuid:from-phone", photo="p.jpg"))
    (folder / "p.jpg").write_bytes(JPEG)
    bad = tmp_path / "instances" / "broken"
    bad.mkdir()
    (bad / "broken.xml").write_bytes(b"<site_visit id='site_visit'")
    result = run(runner, "import", "instances", str(tmp_path / "instances"))
    assert result.exit_code == sources_command.EXIT_NOT_LOADED == 3  # not everything came in
    assert "1 imported, 0 already here, 1 refused, 0 stored but not loaded" in result.output
    assert "refused broken/broken.xml: The submission is not well-formed XML" in result.output
    again = run(runner, "import", "instances", str(tmp_path / "instances"))
    assert "0 imported, 1 already here, 1 refused" in again.output
    bad.joinpath("broken.xml").unlink()
    assert run(runner, "import", "instances", str(tmp_path / "instances")).exit_code == 0


def test_pull_refuses_a_source_already_being_pulled_and_pulls_the_others(
        app, runner, session, form, kobo_fake, central_fake):
    kobo_fake.add(builders.site_visit("uuid:k1"))
    central_fake.add(builders.site_visit("uuid:c1"))
    add_kobo(runner, kobo_fake)
    add_central(runner, central_fake)
    session.rollback()
    kobo_source = configured.get(session, "kobo-dhaka")

    def by_hand(other_session, source):  # an admin's pull, in another terminal
        return configured.pull(other_session, app.extensions["blobs"], source)

    with held_pull(app, kobo_fake, kobo_source, by_hand) as first:
        result = run(runner, "pull")
        assert result.exit_code == sources_command.EXIT_BUSY == 4
        assert re.search(r"kobo-dhaka: A pull of kobo-dhaka has been running since \d\d:\d\d "
                         r"UTC \(\d+ min\) by .+ \(process \d+\), last heard of \d+ s ago; "
                         r"wait for it to finish", result.output)
        assert "central-np: 1 new, 0 updated, 0 skipped, 0 errors, 1 loaded" in result.output
        held = first.finish()
    assert (held.status, held.new) == ("ok", 1)
    assert runs_of(session, kobo_source) == [("ok", None)]
    assert run(runner, "pull", "kobo-dhaka").exit_code == 0

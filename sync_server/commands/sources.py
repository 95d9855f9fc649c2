"""``sangjog source``, ``sangjog pull`` and ``sangjog import``: submissions from KoBoToolbox,
ODK Central and phone folders. Secrets are read from the environment or a file, never from the
command line (where they would land in shell history) and never printed."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

import click
from flask.cli import AppGroup, with_appcontext
from tqdm import tqdm

from pipeline import loader
from pipeline.connectors import instances
from pipeline.connectors import sources as configured
from pipeline.models import PullRun, Source
from pipeline.problems import Problem

from ..db import get_blobs, get_session

# Exit statuses of ``sangjog pull`` and ``sangjog import instances`` (docs/connectors.md). With
# several sources, the first of these that applies: 1, 4, 3.
EXIT_FAILED = 1  # a pull stopped before its end (server, credentials, network), or no such source
EXIT_NOT_LOADED = 3  # it finished, but submissions were refused or stored without loading
EXIT_BUSY = 4  # another pull of a source was running; that source was not pulled
PROGRESS_EVERY = 250  # submissions between two progress lines when not on a terminal


@click.group("source", cls=AppGroup)  # AppGroup: each command runs in an app context
def command() -> None:
    """Remote servers to pull submissions from: KoBoToolbox assets and ODK Central forms."""


@command.group("add")
def add() -> None:
    """Add a KoBoToolbox or ODK Central source."""


def _secret(env: str | None, path: Path | None, what: str) -> str:
    if bool(env) == bool(path):
        raise click.UsageError(f"Give the {what} with exactly one of --{what}-env or --{what}-file.")
    if env:
        value = os.environ.get(env, "").strip()
        if not value:
            raise click.ClickException(f"The environment variable {env} is not set or is empty.")
        return value
    assert path is not None
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise click.ClickException(f"Cannot read {path}: {exc.strerror}.") from None
    if not value:
        raise click.ClickException(f"{path} is empty.")
    return value


def _added(source: Source) -> None:
    click.echo(f"Source '{source.name}' added: {source.kind} {source.url} "
               f"({source.remote_form}) → form {source.form.xml_form_id}. "
               f"Pull it with: sangjog pull {source.name}")


@add.command("kobo")
@click.argument("name")
@click.option("--url", required=True, help="KoBoToolbox server, e.g. https://kf.kobotoolbox.org.")
@click.option("--token-env", metavar="VAR", help="Environment variable holding the API token.")
@click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path),
              help="File holding the API token.")
@click.option("--asset", required=True, help="The project's asset uid (in its URL).")
@click.option("--form", "form_id", required=True, help="Our form_id the submissions belong to.")
@click.option("--insecure", is_flag=True, help="Accept an http:// address (not encrypted).")
@click.option("--no-check", is_flag=True, help="Save it without reaching the server first.")
def add_kobo(name: str, url: str, token_env: str | None, token_file: Path | None, asset: str,
             form_id: str, insecure: bool, no_check: bool) -> None:
    """Add KoBoToolbox source NAME (one asset, mapped to one of our forms); the server is
    reached with the token first, unless --no-check."""
    token = _secret(token_env, token_file, "token")
    try:
        source = configured.add(get_session(), kind="kobo", name=name, url=url, secret=token,
                                remote_form=asset, form_id=form_id, actor="cli",
                                insecure=insecure, checked=not no_check)
    except Problem as problem:
        raise click.ClickException(problem.message) from None
    _added(source)


@add.command("central")
@click.argument("name")
@click.option("--url", required=True, help="ODK Central server, e.g. https://central.example.org.")
@click.option("--email", required=True, help="The Central account's email address.")
@click.option("--password-env", metavar="VAR", help="Environment variable holding the password.")
@click.option("--password-file", type=click.Path(dir_okay=False, path_type=Path),
              help="File holding the password.")
@click.option("--project", required=True, help="Central project id (a number).")
@click.option("--remote-form", required=True, help="The form's id on Central.")
@click.option("--form", "form_id", required=True, help="Our form_id the submissions belong to.")
@click.option("--insecure", is_flag=True, help="Accept an http:// address (not encrypted).")
@click.option("--no-check", is_flag=True, help="Save it without reaching the server first.")
def add_central(name: str, url: str, email: str, password_env: str | None,
                password_file: Path | None, project: str, remote_form: str,
                form_id: str, insecure: bool, no_check: bool) -> None:
    """Add ODK Central source NAME (one form of one project, mapped to one of our forms); the
    server is reached with the password first, unless --no-check."""
    password = _secret(password_env, password_file, "password")
    try:
        source = configured.add(get_session(), kind="central", name=name, url=url,
                                secret=password, username=email,
                                remote_form=f"{project}:{remote_form}", form_id=form_id,
                                actor="cli", insecure=insecure, checked=not no_check)
    except Problem as problem:
        raise click.ClickException(problem.message) from None
    _added(source)


@command.command("test")
@click.argument("name")
def test_source(name: str) -> None:
    """Reach source NAME's server with its saved credentials and read its list once."""
    try:
        source = configured.get(get_session(), name)
        count = configured.check(source)
    except Problem as problem:
        raise click.ClickException(problem.message) from None
    click.echo(f"{name}: reached {source.url} ({source.remote_form}): {count} submissions there.")


@command.command("edit")
@click.argument("name")
@click.option("--url", help="A new server address.")
@click.option("--email", help="ODK Central: a new account email.")
@click.option("--token-env", metavar="VAR", help="KoBoToolbox: a new API token from VAR.")
@click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path),
              help="KoBoToolbox: a new API token from a file.")
@click.option("--password-env", metavar="VAR", help="ODK Central: a new password from VAR.")
@click.option("--password-file", type=click.Path(dir_okay=False, path_type=Path),
              help="ODK Central: a new password from a file.")
@click.option("--insecure", is_flag=True, help="Accept an http:// address (not encrypted).")
@click.option("--no-check", is_flag=True, help="Save it without reaching the server first.")
def edit(name: str, url: str | None, email: str | None, token_env: str | None,
         token_file: Path | None, password_env: str | None, password_file: Path | None,
         insecure: bool, no_check: bool) -> None:
    """Change source NAME's address, account or secret (rotate a token), keeping where its
    pulls got to. The server is reached with the new settings first, unless --no-check."""
    secret = None
    if token_env or token_file:
        secret = _secret(token_env, token_file, "token")
    if password_env or password_file:
        if secret is not None:
            raise click.UsageError("Give a token or a password, not both.")
        secret = _secret(password_env, password_file, "password")
    if url is None and email is None and secret is None:
        raise click.UsageError("Nothing to change: give --url, --email or a new secret.")
    try:
        configured.edit(get_session(), name, url=url, secret=secret, username=email,
                        insecure=insecure, checked=not no_check, actor="cli")
    except Problem as problem:
        raise click.ClickException(problem.message) from None
    click.echo(f"Source '{name}' changed; its pulls go on from where they got to.")


@command.command("list")
def list_() -> None:
    """List sources with their last pull (secrets are never shown)."""
    session = get_session()
    found = configured.list_all(session)
    if not found:
        click.echo("No sources. Add one with 'sangjog source add kobo|central'.")
        return
    for source in found:
        info = configured.describe(source)
        run = configured.last_run(session, source)
        last = (f"last pull {run.started_at:%Y-%m-%d %H:%M} {run.status}: {_counts(run)}"
                if run else "never pulled")
        who = f" as {info['username']}" if info["username"] else ""
        click.echo(f"{info['name']}\t{info['kind']}\t{info['url']}{who}\t{info['remote_form']}"
                   f" → {info['form']}\t{last}")


@command.command("remove")
@click.argument("name")
def remove(name: str) -> None:
    """Remove source NAME (what it brought in stays)."""
    try:
        configured.remove(get_session(), name, actor="cli")
    except Problem as problem:
        raise click.ClickException(problem.message) from None
    click.echo(f"Source '{name}' removed.")


@command.command("dismiss")
@click.argument("instance_ids", nargs=-1, required=True)
def dismiss(instance_ids: tuple[str, ...]) -> None:
    """Stop retrying submissions that were stored but cannot load (by instanceID)."""
    for instance_id in instance_ids:
        try:
            loader.dismiss(get_session(), instance_id, actor="cli")
        except Problem as problem:
            raise click.ClickException(problem.message) from None
        click.echo(f"{instance_id}: dismissed; pulls no longer retry it.")


def _counts(run: PullRun) -> str:
    return (f"{run.new} new, {run.updated} updated, {run.skipped} skipped, {run.errors} errors, "
            f"{run.loaded} loaded, {run.failed} not loaded")


def _pull_all(name: str | None, from_start: bool, recheck_days: float,
              force: bool = False, full_recheck_days: float = 7) -> int:
    """Pull one source or every enabled one; the exit status (0 when everything loaded)."""
    session = get_session()
    try:
        chosen = [configured.get(session, name)] if name else [
            s for s in configured.list_all(session) if s.enabled]
    except Problem as problem:
        raise click.ClickException(problem.message) from None
    if not chosen:
        click.echo("No sources to pull. Add one with 'sangjog source add kobo|central'.")
    statuses: set[int] = set()
    for source in chosen:
        with tqdm(desc=source.name, unit="sub", disable=None, leave=False) as bar:
            def progress(done: int, total: int | None, bar: tqdm = bar,
                         name: str = source.name) -> None:
                if bar.disable:  # not a terminal (cron, a log): a plain line now and then
                    if done % PROGRESS_EVERY == 0:
                        of = f" of {total}" if total is not None else ""
                        click.echo(f"{name}: {done}{of} submissions at "
                                   f"{datetime.now(UTC):%H:%M:%S} UTC")
                    return
                if total is not None and bar.total != total:
                    bar.total = total
                bar.update(done - bar.n)

            try:
                run = configured.pull(session, get_blobs(), source, from_start=from_start,
                                      recheck_days=recheck_days, progress=progress, force=force,
                                      full_recheck_days=full_recheck_days)
            except Problem as problem:  # another pull holds this source: the others go on
                click.echo(f"{source.name}: {problem.message}")
                statuses.add(EXIT_BUSY if problem.code == "source.pull_running" else EXIT_FAILED)
                continue
        click.echo(f"{source.name}: {_counts(run)} ({run.status})")
        if run.message:
            click.echo("  " + run.message.replace("\n", "\n  "))
        if run.status != "ok":
            statuses.add(EXIT_NOT_LOADED if run.status == "incomplete" else EXIT_FAILED)
    return next((code for code in (EXIT_FAILED, EXIT_BUSY, EXIT_NOT_LOADED) if code in statuses), 0)


@click.command("pull")
@click.argument("source", required=False)
@click.option("--every", type=float, metavar="MINUTES",
              help="Keep pulling every MINUTES minutes until Ctrl-C.")
@click.option("--times", type=click.IntRange(min=1), metavar="N",
              help="With --every: stop after N pulls (without it, until Ctrl-C).")
@click.option("--from-start", is_flag=True,
              help="Read the whole remote list again (what is already here is skipped).")
@click.option("--recheck-days", type=float, default=7, show_default=True,
              help="KoBoToolbox: look again at submissions of the last N days for edits and "
                   "validation statuses (0: never).")
@click.option("--full-recheck-days", type=float, default=7, show_default=True,
              help="KoBoToolbox: list every submission again (a short fingerprint each) when "
                   "the last full re-check is older than N days, to catch old edits and "
                   "validation changes (0: never).")
@click.option("--force", is_flag=True,
              help="Take the source over even if another pull holds it (use only when that "
                   "pull is gone: it would stop at its next step).")
@with_appcontext
def pull_command(source: str | None, every: float | None, times: int | None, from_start: bool,
                 recheck_days: float, full_recheck_days: float, force: bool) -> None:
    """Pull new and changed submissions from SOURCE (default: every source).

    Exit status: 0 all loaded, 1 a pull failed, 3 something was refused or not loaded,
    4 a source was busy with another pull (docs/connectors.md)."""
    if force and every is not None:
        raise click.UsageError("--force takes a source over once; it does not go with --every.")
    if times is not None and every is None:
        raise click.UsageError("--times counts the pulls of --every; give --every too.")
    if every is None:
        status = _pull_all(source, from_start, recheck_days, force, full_recheck_days)
        if status:
            raise SystemExit(status)
        return
    if every <= 0:
        raise click.UsageError("--every takes a number of minutes above 0.")
    if source:
        try:
            configured.get(get_session(), source)
        except Problem as problem:
            raise click.ClickException(problem.message) from None
    rounds = 0
    try:
        while True:
            click.echo(f"Pulling at {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")
            get_session().expire_all()  # see sources and cursors as they are now
            try:
                _pull_all(source, from_start, recheck_days,
                          full_recheck_days=full_recheck_days)
            except Exception as exc:  # noqa: BLE001 - one bad round must not end the schedule
                get_session().rollback()
                click.echo(f"This round failed ({type(exc).__name__}); trying again later.",
                           err=True)
            from_start = False
            rounds += 1
            if rounds == times:
                break
            time.sleep(every * 60)  # Ctrl-C ends the wait at once
    except KeyboardInterrupt:
        click.echo("Stopped.")
        return
    click.echo(f"Stopped after {rounds} pulls.")


@click.group("import", cls=AppGroup)
def import_command() -> None:
    """Import submissions from files."""


@import_command.command("instances")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
def import_instances(path: Path) -> None:
    """Import filled forms from PATH: a copy of Collect's instances/ folder or of an ODK
    Briefcase storage folder."""
    try:
        report = instances.import_instances(get_session(), get_blobs(), path)
    except Problem as problem:
        raise click.ClickException(problem.message) from None
    click.echo(report.summary())
    for rel, why in report.refused:
        click.echo(f"refused {rel}: {why}")
    for rel, missing in report.incomplete:
        click.echo(f"incomplete {rel}: missing {', '.join(missing)}")
    for rel, why in report.not_loaded:
        click.echo(f"not loaded {rel}: {why}")
    if not report.complete:
        raise SystemExit(EXIT_NOT_LOADED)


# Top-level commands of this module besides the ``source`` group; cli.py registers them too.
more_commands = [pull_command, import_command]

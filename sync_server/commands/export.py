"""``sangjog export``: the district workbook, the Central-layout CSV zip, and scheduled runs."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from tqdm import tqdm

from exports import geo, query, scheduled
from exports.csvzip import write_zip
from exports.period import Period
from exports.xlsx import LANGUAGES, build_workbook
from pipeline import loader

from ..db import get_blobs, get_session

DEFAULT_SERVER_URL = "http://127.0.0.1:5000"


@click.group("export")
def command() -> None:
    """Excel workbooks for district offices and ODK Central-layout CSV zips."""


def _server_url(given: str | None) -> str:
    return given or current_app.config.get("SERVER_URL") or DEFAULT_SERVER_URL


def _period(text: str | None, scope: list[str] | None = None) -> Period | None:
    """The chosen period; for a Nepal area relative periods count Nepal's fiscal quarters."""
    return Period.parse(text, country=_country(scope or [])) if text else None


def _country(scope: list[str]) -> str:
    return "np" if scope and all(code.startswith("np_") for code in scope) else ""


def _bar(quiet: bool, unit: str) -> tqdm:
    return tqdm(unit=unit, unit_scale=True, disable=quiet, leave=False)


def _filter_options(command_function):
    """The options both exports share: which submissions, and the progress bar."""
    options = (
        click.option("--review", help="Only these review states, comma-separated "
                     "(approved,received,has_issues,rejected,edited; default: every state)."),
        click.option("--since", help="Only submissions received on or after this date "
                     "(YYYY-MM-DD)."),
        click.option("--date-basis", type=click.Choice(query.DATE_BASES), default="received",
                     show_default=True,
                     help="What the period applies to: when a submission was received, or the "
                          "form's own date (visit, workshop, follow-up), as the web lists filter."),
        click.option("--quiet", is_flag=True, help="No progress bar."),
    )
    for option in reversed(options):
        command_function = option(command_function)
    return command_function


def _scope(district: str | None, division: str | None, everything: bool) -> tuple[list[str], str]:
    """Scope codes and a file-name stem for the chosen area (exactly one must be chosen)."""
    if sum(map(bool, (district, division, everything))) != 1:
        raise click.UsageError("Choose one of --district, --division or --all.")
    if everything:
        return ["*"], "all"
    place = geo.find_district(district) if district else geo.find_division(division or "")
    return [geo.scope_code(place)], geo.file_stem(place)


def _default_output(stem: str, chosen: Period | None, last: str, suffix: str) -> Path:
    """The file the Downloads page would name for the same area, period (all time: ``all``) and
    language or form id (``geo.file_name``)."""
    return Path(geo.file_name(stem, chosen.slug if chosen else "all", last, suffix))


@command.command("district")
@click.option("--district", help="District code or name (English, Bengali or Nepali).")
@click.option("--division", help="Division (Bangladesh) or province (Nepal) code or name.")
@click.option("--all", "everything", is_flag=True, help="Every area.")
@click.option("--period", help="2026, 2026-H2, 2026-Q3, 2026-07, 2026-07-01..2026-09-30, "
                               "last-month, last-quarter; Nepal's fiscal 2083/84, 2083/84-H1, "
                               "2083/84-Q2 (default: all time).")
@click.option("--lang", type=click.Choice(LANGUAGES), default="en", show_default=True,
              help="Language of headers and answers.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Workbook to write (default: sangjog-AREA-PERIOD-LANG.xlsx).")
@click.option("--server-url", help="Base of the attachment links (default: SERVER_URL).")
@_filter_options
@with_appcontext
def district(district: str | None, division: str | None, everything: bool, period: str | None,
             lang: str, output: Path | None, server_url: str | None, review: str | None,
             since: str | None, date_basis: str, quiet: bool) -> None:
    """Write the consolidated workbook of one district (or division, or everything)."""
    scope, stem = _scope(district, division, everything)
    chosen = _period(period, scope)
    output = output or _default_output(stem, chosen, lang, "xlsx")
    with _bar(quiet, "submission") as bar:
        report = build_workbook(_caught_up_session(), scope, chosen, lang, output,
                                _server_url(server_url), bar,
                                filters=query.Filters.parse(review, since, date_basis))
    rows = sum(report.submissions.values())
    click.echo(f"{output}: {rows} submissions on {len(report.sheets)} sheets")
    for table in report.splits:
        click.echo(f"  {table.title}: {table.rows} rows split over {', '.join(table.sheets)}")


@command.command("csv")
@click.option("--form", "form_id", required=True, help="Form id, e.g. innovation_inspection.")
@click.option("--period", help="As for `export district` (default: all time).")
@click.option("--district", help="Only this district (code or name).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Zip to write (default: sangjog-AREA-PERIOD-FORM.zip, as the Downloads page "
                   "names it).")
@click.option("--excel", is_flag=True,
              help="For opening in Excel: a UTF-8 byte order mark, and text that a spreadsheet "
                   "would run as a formula (=, +, -, @ first) prefixed with '.")
@_filter_options
@with_appcontext
def csv_zip(form_id: str, period: str | None, district: str | None, output: Path | None,
            excel: bool, review: str | None, since: str | None, date_basis: str,
            quiet: bool) -> None:
    """Write one form's submissions as ODK Central's CSV zip (main + one CSV per repeat)."""
    scope, stem = _scope(district, None, not district)
    chosen = _period(period, scope)
    output = output or _default_output(stem, chosen, form_id, "zip")
    with _bar(quiet, "row") as bar:
        written = write_zip(_caught_up_session(), form_id, output, scope, chosen, bar,
                            excel=excel,
                            filters=query.Filters.parse(review, since, date_basis))
    click.echo(f"{output}: " + ", ".join(f"{name} ({rows} rows)" for name, rows in written.items()))


@command.command("workshop-report")
@click.option("--upazila", required=True, help="The workshop's upazila (code, e.g. 303334).")
@click.option("--date", "day", required=True, help="The workshop's date (YYYY-MM-DD).")
@click.option("--lang", type=click.Choice(LANGUAGES), default="bn", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="File to write: .pdf, or .html for the printable page "
                   "(default: workshop-NAME-UPAZILA-DATE-LANG.pdf, as the Downloads page "
                   "names it).")
@with_appcontext
def workshop_report(upazila: str, day: str, lang: str, output: Path | None) -> None:
    """Write one workshop's report: nominated practices, ballot results and the plans made there."""
    from exports import workshop_report as reports

    report = reports.gather(_caught_up_session(), ["*"], upazila, day, lang)
    output = output or Path(geo.report_file_name(upazila, report.day, lang))
    if output.suffix.lower() == ".html":
        output.write_text(reports.html(report), encoding="utf-8")
    else:
        output.write_bytes(reports.pdf(report))
    click.echo(f"{output}: {len(report.tally.results)} nominated practices, "
               f"{report.tally.ballots_counted} ballots counted, {len(report.plans)} action plans")


def _caught_up_session():
    """The session to export from, once uploads the server stored but has not loaded yet are in."""
    loader.load_pending(get_session())
    return get_session()


@command.command("schedule")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write the workbooks into this folder instead (created if missing), every "
                   "time it runs: not listed on the Downloads page, not claimed.")
@click.option("--period", default="last-month", show_default=True,
              help="The period to export; last-month and last-quarter are relative to today.")
@click.option("--lang", type=click.Choice(LANGUAGES), default="en", show_default=True)
@click.option("--server-url", help="Base of the attachment links (default: SERVER_URL).")
@click.option("--force", is_flag=True,
              help="Export the period again even if it was already done, or take it over from a "
                   "run that is still marked running.")
@with_appcontext
def schedule(out_dir: Path | None, period: str, lang: str, server_url: str | None,
             force: bool) -> None:
    """Write the workbook of every district with submissions in the period into the attachment
    store, where the Downloads page of every server lists it. Once per period and language:
    safe to run from cron on every server (see docs/exports.md)."""
    outcome = scheduled.run(get_session(), get_blobs(), period, lang, _server_url(server_url),
                            force=force, out_dir=out_dir, echo=click.echo)
    if outcome.skipped:
        click.echo(outcome.skipped)
        return
    where = out_dir if out_dir is not None else "the Downloads page"
    click.echo(f"{len(outcome.written)} district workbooks for {outcome.period} in "
               f"{outcome.lang} in {where}")

"""Innovation project registry: import, progress from inspections that stand, rejection reverts."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy import inspect as sa_inspect

from pipeline.access import EVERYWHERE
from pipeline.domain import inspections
from pipeline.domain.projects import SAMPLE, import_projects, list_projects
from pipeline.models import AuditEvent, InnovationProject
from pipeline.problems import Problem
from pipeline.review import set_review
from pipeline.storage import BlobStore
from sync_server.cli import cli
from tests import builders

HEADER = "code,title_en,title_bn,division,district,upazila,office,started_on,category\n"


@pytest.fixture
def blobs(tmp_path):
    return BlobStore(tmp_path / "blobs")


def inspect_project(session, blobs, code, visit, progress, stage="pilot_running", **more):
    answers = {"division": "40", "district": "4050", "upazila": "405079", "project": code,
               "inspector_name": "Farhana Yasmin", "inspector_role": "adc",
               "visit_date": visit, "stage": stage, "progress": progress, **more}
    return builders.submit(session, builders.submission("innovation_inspection", answers),
                           blobs=blobs).submission


def test_sample_registry_imports_and_reimport_changes_nothing(session):
    first = import_projects(session, SAMPLE)
    assert first.created == 16 and first.updated == 0
    again = import_projects(session, SAMPLE.read_bytes())
    assert (again.created, again.updated, again.unchanged) == (0, 0, 16)
    kushtia = list_projects(session, district="4050")
    assert {p.division for p in kushtia} == {"40"} and len(kushtia) == 9
    assert session.scalar(select(func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "projects.import")) == 2


def test_import_updates_by_code_and_derives_the_division(session):
    import_projects(session, (HEADER + "P-1,Old title,,,4050,405079,,,\n").encode())
    result = import_projects(session, (HEADER + "P-1,New title,নতুন,,4050,,DC office,2017-03-01,"
                                       "e_service\n").encode())
    assert (result.created, result.updated) == (0, 1)
    [p] = list_projects(session)
    assert (p.title_en, p.title_bn, p.division, p.upazila, p.started_on) == (
        "New title", "নতুন", "40", None, date(2017, 3, 1))


def test_a_bad_row_refuses_the_whole_file(session):
    rows = (HEADER
            + "GOOD-1,Fine,,,4050,405079,,2017-01-01,e_service\n"
            + "bad code,Title,,,4050,,,,\n"
            + "X-2,,,,9999,,,01/02/2017,\n"
            + "X-3,Title,,10,4050,558549,,,space_travel\n"
            + "GOOD-1,Again,,,4050,,,,\n")
    with pytest.raises(Problem) as caught:
        import_projects(session, rows.encode())
    problem = caught.value
    assert problem.code == "projects.invalid_csv" and problem.status == 400
    found = {(e["row"], e["column"]) for e in problem.details["errors"]}
    assert found == {(3, "code"), (4, "title_en"), (4, "district"), (4, "started_on"),
                     (5, "division"), (5, "upazila"), (5, "category"), (6, "code")}
    assert session.scalar(select(func.count()).select_from(InnovationProject)) == 0


@pytest.mark.parametrize("content, words", [
    (b"code,title\nA,B\n", "missing column(s) title_en, district and unknown column(s) title"),
    (HEADER.encode(), "no projects"),
    ((HEADER + "A-1,Schools, clinics,,,4050,,,,\n").encode(), "Row 2 has more cells than the header"),
    ("code,title_en,district\nA,\u0995,4050\n".encode("utf-16"), "not UTF-8"),
], ids=["bad-header", "no-rows", "unquoted-comma", "utf-16"])
def test_unreadable_files_are_refused_clearly(session, content, words):
    with pytest.raises(Problem) as caught:
        import_projects(session, content)
    assert words in caught.value.message


def test_a_missing_file_is_a_problem(session, tmp_path):
    with pytest.raises(Problem) as caught:
        import_projects(session, tmp_path / "nope.csv")
    assert caught.value.code == "projects.unreadable_file"


def test_progress_comes_from_inspections_that_were_not_rejected(session, blobs):
    import_projects(session, SAMPLE)
    builders.publish(session, "innovation_inspection")
    inspect_project(session, blobs, "KUS-2017-01", "2026-01-10", 30, time_before=7,
                    time_after=1, cost_before=500, cost_after=50, visits_before=3, visits_after=1)
    later = inspect_project(session, blobs, "KUS-2017-01", "2026-03-05", 60,
                            stage="pilot_complete", time_before=7, time_after=0.5)
    status = {s.code: s for s in inspections.registry(session, district="4050")}
    s = status["KUS-2017-01"]
    assert (s.progress, s.stage, s.inspections, s.last_inspected) == (
        60, "pilot_complete", 2, date(2026, 3, 5))
    assert (s.tcv("time_before"), s.tcv("time_after"), s.tcv("cost_before")) == (7, 0.5, None)
    assert status["KUS-2017-02"].inspections == 0 and status["KUS-2017-02"].progress is None

    set_review(session, [later.id], "rejected", "Photos are from another site", "supervisor")
    s = {s.code: s for s in inspections.registry(session)}["KUS-2017-01"]
    assert (s.progress, s.stage, s.inspections) == (30, "pilot_running", 1)
    assert [i.progress for i in inspections.project_history(session, "KUS-2017-01")] == [30]

    set_review(session, [later.id], "approved", None, "supervisor")
    s = {s.code: s for s in inspections.registry(session)}["KUS-2017-01"]
    assert (s.progress, s.inspections) == (60, 2)
    assert [(i.progress, i.review_state) for i in inspections.project_history(
        session, "KUS-2017-01")] == [(30, "received"), (60, "approved")]


def test_the_streamed_registry_equals_the_pure_summary_of_every_standing_inspection(
        session, blobs):
    # The registry keeps only two inspections per project while it reads; the answer must be
    # what the pure rule gives over all of them: counts, latest visit, progress, TCV.
    import_projects(session, SAMPLE)
    builders.publish(session, "innovation_inspection")
    visits = [("KUS-2017-01", "2026-01-10", 30), ("KUS-2017-01", "2026-03-05", 55),
              ("KUS-2017-01", "2026-02-01", 40), ("KUS-2017-01", "2026-03-05", 60),
              ("KUS-2017-02", "2026-04-01", 10), ("KUS-2017-02", "2025-12-31", 5)]
    subs = [inspect_project(session, blobs, code, day, pct, time_after=pct / 10)
            for code, day, pct in visits]
    set_review(session, [subs[3].id], "rejected", "Wrong project", "supervisor")
    standing = [i for code in ("KUS-2017-01", "KUS-2017-02")
                for i in inspections.project_history(session, code)]
    expected = inspections.summarise(list_projects(session), standing)
    assert inspections.registry(session) == expected
    by_code = {s.code: s for s in expected}
    assert (by_code["KUS-2017-01"].inspections, by_code["KUS-2017-01"].progress) == (3, 55)
    assert by_code["KUS-2017-02"].last_inspected == date(2026, 4, 1)


def test_behind_schedule_lists_stale_and_stalled_projects(session, blobs):
    import_projects(session, (HEADER
                              + "STALE,Stale,,,4050,,,2025-01-01,\n"
                              + "STALLED,Stalled,,,4050,,,2025-01-01,\n"
                              + "FRESH,Fresh,,,4050,,,2025-01-01,\n"
                              + "NEVER,Never,,,4050,,,2025-01-01,\n"
                              + "NEW,New,,,4050,,,2026-05-01,\n"
                              + "DONE,Done,,,4050,,,2025-01-01,\n").encode())
    builders.publish(session, "innovation_inspection")
    inspect_project(session, blobs, "STALE", "2026-01-01", 40)
    inspect_project(session, blobs, "STALLED", "2026-04-01", 50)
    inspect_project(session, blobs, "STALLED", "2026-05-20", 50)
    inspect_project(session, blobs, "FRESH", "2026-04-01", 20)
    inspect_project(session, blobs, "FRESH", "2026-05-20", 35)
    inspect_project(session, blobs, "DONE", "2025-06-01", 100, stage="replicated")
    behind = inspections.behind_schedule(session, date(2026, 6, 1), days=90)
    reasons = {b.status.code: [code for code, _ in b.reasons] for b in behind}
    assert reasons == {"STALE": ["no_recent_inspection"], "STALLED": ["progress_stalled"],
                       "NEVER": ["never_inspected"]}


def test_cli_imports_and_lists_projects(runner, tmp_path, session, blobs):
    result = runner.invoke(cli, args=["projects", "import", str(SAMPLE)])
    assert result.exit_code == 0, result.output
    assert "16 created, 0 updated, 0 unchanged." in result.output
    builders.publish(session, "innovation_inspection")
    inspect_project(session, blobs, "KUS-2017-03", "2026-02-01", 45)
    listing = runner.invoke(cli, args=["projects", "list", "--district", "4050"]).output.splitlines()
    assert len(listing) == 1 + 9
    assert "KUS-2017-03\t4050\t405015\t45%\tpilot_running\t1\t2026-02-01\tAgent banking" in listing[3]
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "A-1,Title,,,9999,,,,\n", encoding="utf-8")
    refused = runner.invoke(cli, args=["projects", "import", str(bad)])
    assert refused.exit_code == 1
    assert "row 2, column district: '9999' is not a Bangladesh district code." in refused.output


def test_scope_and_unregistered_inspections(session, blobs):
    from pipeline.scope import parse

    import_projects(session, SAMPLE)
    builders.publish(session, "innovation_inspection")
    inspect_project(session, blobs, "KUS-2017-01", "2026-01-10", 30)
    stray = inspect_project(session, blobs, "NOT-IN-REGISTRY", "2026-01-11", 10)
    rangpur = inspections.registry(session, scope=parse(["bd_division:55"]))
    assert {s.district for s in rangpur} == {"5585", "5532", "5527", "5573"}
    kushtia = inspections.registry(session, scope=parse(["bd_district:4050"]))
    assert len(kushtia) == 9
    assert [i.project for i in inspections.unregistered_inspections(session)] == ["NOT-IN-REGISTRY"]
    assert inspections.unregistered_inspections(session, scope=parse(["bd_district:5585"])) == []
    session.commit()
    set_review(session, [stray.id], "rejected", "No such project", "supervisor")
    assert inspections.unregistered_inspections(session) == []


def test_engine_filled_inspection_picks_from_the_generated_registry(session, tmp_path):
    from pipeline.domain.media import generated_media
    from tests import formtools

    import_projects(session, SAMPLE)
    formtools.publish_all(session)
    projects_csv = generated_media(session, "innovation_projects.csv", EVERYWHERE)
    answers = [(p, "KUS-2017-01" if p == "/data/project" else v)
               for p, v in formtools.SAMPLE_ANSWERS["innovation_inspection"]
               if not p.startswith(("/data/division", "/data/district", "/data/upazila"))]
    answers = [("/data/division", "40"), ("/data/district", "4050"), ("/data/upazila", "405079"),
               *answers]
    key = repr(answers) + projects_csv.decode()
    if key not in _filled:
        result = formtools.fill("innovation_inspection", answers,
                                {"innovation_projects.csv": projects_csv})
        assert result.ok, (result.violations, result.errors)
        _filled[key] = (result.xml, result.options["/data/project"])
    xml, offered = _filled[key]
    # Kushtia Sadar's projects and Kushtia's district-wide one, nothing from elsewhere.
    assert sorted(offered) == ["KUS-2017-01", "KUS-2017-06", "KUS-2017-08"]
    builders.submit(session, xml, blobs=BlobStore(tmp_path / "blobs"))
    [s] = [s for s in inspections.registry(session, district="4050") if s.code == "KUS-2017-01"]
    assert (s.progress, s.stage, s.recommendation, s.tcv("time_before"), s.tcv("visits_after")) == (
        60, "pilot_running", "scale_district", 21, 1)


_filled: dict[str, tuple[bytes, list[str]]] = {}


def inspect_new_project(session, blobs, name, visit, progress, code="", district="4050", upazila="405079"):
    return inspect_project(session, blobs, "", visit, progress, district=district, upazila=upazila,
                           project_listed="no", new_project_name=name, new_project_code=code,
                           new_project_office="UNO office, Kushtia Sadar",
                           new_project_category="e_service")


def test_a_project_not_in_the_list_is_a_candidate_until_an_admin_adds_it(session, blobs):
    builders.publish(session, "innovation_inspection")
    first = inspect_new_project(session, blobs, "ই-নামজারি হেল্প ডেস্ক", "2026-01-10", 20)
    inspect_new_project(session, blobs, "ই-নামজারি  হেল্প ডেস্ক।", "2026-02-10", 45)  # same, typed again
    inspect_new_project(session, blobs, "Mobile court app", "2026-02-11", 5, code="KUS-NEW-7")
    session.commit()
    [desk, app] = inspections.candidates(session)
    assert (desk.name, desk.inspections, desk.submission_id, desk.code) == (
        "ই-নামজারি হেল্প ডেস্ক", 2, first.id, "")
    assert (app.code, app.district, app.upazila, app.category) == ("KUS-NEW-7", "4050", "405079", "e_service")
    assert inspections.registry(session) == []  # not counted anywhere yet
    assert len(inspections.unregistered_inspections(session)) == 3

    project = inspections.add_candidate(session, desk.submission_id, "admin")
    assert (project.code, project.title_bn, project.division, project.office) == (
        "NEW-4050-001", "ই-নামজারি হেল্প ডেস্ক", "40", "UNO office, Kushtia Sadar")
    [status] = inspections.registry(session)
    assert (status.code, status.inspections, status.progress) == ("NEW-4050-001", 2, 45)
    assert [c.code for c in inspections.candidates(session)] == ["KUS-NEW-7"]
    # The code the inspector gave becomes the registry code.
    assert inspections.add_candidate(session, app.submission_id, "admin").code == "KUS-NEW-7"
    assert inspections.candidates(session) == [] and inspections.unregistered_inspections(session) == []
    assert session.scalar(select(func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "projects.add_candidate")) == 2
    with pytest.raises(Problem) as again:
        inspections.add_candidate(session, desk.submission_id, "admin")
    assert again.value.status == 409


def test_candidates_follow_scope_and_review(session, blobs):
    from pipeline.scope import parse

    builders.publish(session, "innovation_inspection")
    stray = inspect_new_project(session, blobs, "Land hearing online", "2026-01-10", 20)
    session.commit()
    assert inspections.candidates(session, scope=parse(["bd_district:5585"])) == []
    with pytest.raises(Problem) as outside:
        inspections.add_candidate(session, stray.id, "admin", scope=parse(["bd_district:5585"]))
    assert outside.value.status == 404
    set_review(session, [stray.id], "rejected", "Duplicate", "supervisor")
    assert inspections.candidates(session) == []
    assert session.scalar(select(func.count()).select_from(InnovationProject)) == 0


def _stored_codes(session):
    """Each inspection's stored registry project (``_project_code``) by submission id."""
    from pipeline import warehouse

    session.commit()
    main = warehouse.main_table(session.connection(), "innovation_inspection")
    found = dict(session.execute(select(main.c._submission_id, main.c._project_code)).all())
    session.commit()
    return found


def test_a_matched_inspection_keeps_its_project_on_its_row_through_registry_changes_and_edits(session, blobs):
    """Matched when loaded, again when the registry gains or renames a project, again on an
    edit and a rebuild: the registry reads the stored code, never matching in Python."""
    from pipeline.rebuild import rebuild

    builders.publish(session, "innovation_inspection")
    import_projects(session, (HEADER + "KUS-1,Rural power,,,4050,,,,\n").encode())
    by_title = inspect_new_project(session, blobs, "rural  POWER.", "2026-01-10", 20)
    by_code = inspect_new_project(session, blobs, "whatever", "2026-01-11", 30, code="KUS-2")
    listed = inspect_project(session, blobs, "KUS-1", "2026-01-12", 25)
    elsewhere = inspect_new_project(session, blobs, "Rural power", "2026-01-13", 35,
                                    district="5527", upazila="552710")
    assert _stored_codes(session) == {by_title.id: "KUS-1", by_code.id: None, listed.id: None,
                                      elsewhere.id: None}
    [one] = inspections.registry(session)
    assert (one.code, one.inspections, one.progress) == ("KUS-1", 2, 25)

    # A project added later, and one renamed: the inspections already stored follow.
    import_projects(session, (HEADER + "KUS-1,Rural electricity,,,4050,,,,\n"
                              "KUS-2,Mobile court,,,4050,,,,\n"
                              "DNJ-1,Rural Power,,,5527,,,,\n").encode())
    assert _stored_codes(session) == {by_title.id: None, by_code.id: "KUS-2", listed.id: None,
                                      elsewhere.id: "DNJ-1"}
    statuses = {s.code: s for s in inspections.registry(session)}
    assert {c: (s.inspections, s.progress) for c, s in statuses.items()} == {
        "DNJ-1": (1, 35), "KUS-1": (1, 25), "KUS-2": (1, 30)}
    assert [c.name for c in inspections.candidates(session)] == ["rural POWER."]

    # An edit names another project: its new row is matched again.
    edit = inspect_new_project(session, blobs, "Mobile Court", "2026-01-10", 22)
    session.commit()
    moved = builders.submit(session, builders.submission("innovation_inspection", {
        "division": "40", "district": "4050", "upazila": "405079", "project": "",
        "inspector_name": "Farhana Yasmin", "inspector_role": "adc", "visit_date": "2026-01-10",
        "stage": "pilot_running", "progress": 22, "project_listed": "no",
        "new_project_name": "Rural electricity"}, deprecated_id=edit.instance_id),
        blobs=blobs).submission
    assert _stored_codes(session)[moved.id] == "KUS-1"

    # A rebuild writes the same codes again.
    before = _stored_codes(session)
    rebuild(session, "innovation_inspection")
    assert _stored_codes(session) == before

    # What the registry counts is what is stored (the dashboard reads the column's index).
    from pipeline import warehouse

    main = warehouse.main_table(session.connection(), "innovation_inspection")
    session.execute(main.update().where(main.c._submission_id == by_code.id)
                    .values(_project_code="DNJ-1"))
    session.commit()
    statuses = {s.code: s for s in inspections.registry(session)}
    assert (statuses["DNJ-1"].inspections, statuses["KUS-2"].inspections) == (2, 0)


def test_the_migration_fills_the_stored_project_of_inspections_already_loaded(session, blobs):
    from alembic import command

    from pipeline import warehouse_tables
    from pipeline.db import alembic_config

    builders.publish(session, "innovation_inspection")
    import_projects(session, (HEADER + "KUS-1,Rural power,,,4050,,,,\n").encode())
    matched = inspect_new_project(session, blobs, "Rural power", "2026-01-10", 20)
    session.commit()
    engine = session.get_bind()
    config = alembic_config(engine)
    command.downgrade(config, "0015")
    warehouse_tables.forget(engine)
    main = warehouse_tables.form_tables(session.connection(), "innovation_inspection")
    assert "_project_code" not in main["wh_innovation_inspection"].c
    session.commit()
    command.upgrade(config, "head")
    warehouse_tables.forget(engine)
    assert _stored_codes(session) == {matched.id: "KUS-1"}
    indexes = {ix["name"]: ix for ix in sa_inspect(engine).get_indexes("wh_innovation_inspection")}
    assert indexes["ix_wh_innovation_inspection_project_code"]["column_names"][0] == "_project_code"


def test_inspections_sorted_by_progress_read_its_index(session, blobs):
    """The list sorted by progress, largest first (a heading's first click), walks an index
    instead of sorting every row of the reader's area (616 ms at a million before): the query
    the list's first page runs, explained."""
    from sqlalchemy import event, text

    from pipeline import warehouse
    from sync_server.web import listing

    builders.publish(session, "innovation_inspection")
    inspect_project(session, blobs, "KUS-1", "2026-01-10", 20)
    session.commit()
    conn = session.connection()
    main = warehouse.main_table(conn, "innovation_inspection")
    ran: list[str] = []

    def seen(_conn, statement, *_args) -> None:
        ran.append(str(statement.compile(session.get_bind(),
                                         compile_kwargs={"literal_binds": True})))

    event.listen(conn, "before_execute", seen)
    try:
        listing.page(conn, main, [], sort=listing.Sort("progress", descending=True))
    finally:
        event.remove(conn, "before_execute", seen)
    (sql,) = ran
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL enable_seqscan = off"))  # a tiny table is scanned
        plan = session.execute(text(f"EXPLAIN {sql}")).scalars().all()
    else:
        plan = [row[-1] for row in session.execute(text(f"EXPLAIN QUERY PLAN {sql}"))]
    session.rollback()
    assert any("ix_wh_innovation_inspection_progress" in line for line in plan), plan
    assert not any("SORT" in line.upper() for line in plan), plan

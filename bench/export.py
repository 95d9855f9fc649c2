"""Export benchmark: the district workbook and the CSV zip for N inspection submissions.

    .venv/bin/python bench/export.py              # 10,000 submissions, 3 photo rows each
    .venv/bin/python bench/export.py --n 100000   # the memory check
    .venv/bin/python bench/export.py --database-url postgresql://...   # another backend

It builds the real ``innovation_inspection`` XLSForm (tools/make_xlsforms.py, pyxform + ODK
Validate), publishes it into a fresh SQLite database, loads N generated submissions through the
warehouse's parser and writer, then times (median of --repeat runs):

- ``floor``: raw xlsxwriter (constant_memory) writing exactly the cells the workbook's data
  sheets hold, from values already in memory: no database, no labels, no summary;
- ``workbook``: ``exports.xlsx.build_workbook`` for the whole district (reads the warehouse);
- ``csvzip``: ``exports.csvzip.write_zip`` (ODK Central takes 3.1–4.3 s for 10k + 30k rows).

Peak memory of each step is measured in a child process (ru_maxrss), so steps do not mask each
other.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from xml.etree.ElementTree import Element, SubElement, tostring

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DISTRICT = "5527"  # Dinajpur: the sample projects' district
# The web and OData benchmarks read as a supervisor of that district (``setup_with_reader``).
USER, PASSWORD = "bench_supervisor", "a long bench password"


def build_form(workdir: Path):
    """Convert the real inspection XLSForm; returns the ``BuiltForm`` and its media files."""
    from pipeline.forms import build_all

    subprocess.run([sys.executable, str(ROOT / "tools" / "make_xlsforms.py"), "--out",
                    str(workdir / "xlsforms")], check=True, capture_output=True)
    built = {b.form_id: b for b in build_all(workdir / "xlsforms", workdir / "built")}
    form = built["innovation_inspection"]
    media = {name: (workdir / "built" / name).read_bytes() for name in form.media
             if (workdir / "built" / name).exists()}
    return form, media


def _value(col, rng: random.Random, n: int, places: dict[str, str], projects: list[str]) -> str:
    if col.name in places:
        return places[col.name]
    if col.choice_file:
        return rng.choice(projects) if projects else "P-1"
    if col.name == "project_listed":  # picked from the phone's list, but one in fifty
        return "no" if rng.random() < 0.02 else "yes"
    if col.choices:
        values = list(col.choices)
        if col.type == "select_multiple":
            return " ".join(rng.sample(values, min(2, len(values))))
        return rng.choice(values)
    if col.type == "int":
        return str(rng.randint(0, 100))
    if col.type == "decimal":
        return f"{rng.uniform(0, 500):.2f}"
    if col.type == "date":
        return (date(2026, 7, 1) + timedelta(days=rng.randrange(92))).isoformat()
    if col.type == "dateTime":
        return f"2026-08-{rng.randint(1, 28):02d}T10:{rng.randint(0, 59):02d}:00.000+06:00"
    if col.type == "geopoint":
        return f"{25.6 + rng.random() / 10:.6f} {88.6 + rng.random() / 10:.6f} 40 5"
    if col.type == "binary":
        return f"{col.name}-{n}.jpg"
    return f"{col.name.replace('_', ' ')} {n} · পরিদর্শন"


def _element(parent: Element, relpath: tuple[str, ...], cache: dict) -> Element:
    el = parent
    for depth in range(len(relpath)):
        key = (id(parent), relpath[: depth + 1])
        if key not in cache:
            cache[key] = SubElement(el, relpath[depth])
        el = cache[key]
    return el


def submission_xml(schema, n: int, rng: random.Random, repeat_rows: int,
                   places: dict[str, str], projects: list[str]) -> tuple[str, bytes]:
    """One filled submission for ``schema`` (any form): every field answered, repeats filled."""
    instance_id = f"uuid:{rng.getrandbits(128):032x}"
    root = Element(schema.root.strip("/"), {"id": schema.form_id, "version": schema.version})
    cache: dict = {}
    for col in schema.main.columns:
        _element(root, col.relpath, cache).text = _value(col, rng, n, places, projects)
    for spec in schema.repeats:
        if spec.parent != schema.main.name:
            continue  # nested repeats: none in the inspection form
        relpath = tuple(spec.path[len(schema.root) + 1:].split("/"))
        for i in range(repeat_rows):
            holder = _element(root, relpath[:-1], cache) if len(relpath) > 1 else root
            row = SubElement(holder, relpath[-1])
            row_cache: dict = {}
            for col in spec.columns:
                _element(row, col.relpath, row_cache).text = _value(col, rng, n * 10 + i, places, projects)
    meta = SubElement(root, "meta")
    SubElement(meta, "instanceID").text = instance_id
    return instance_id, tostring(root, encoding="utf-8")


def load(session, schema, n: int, repeat_rows: int = 3, seed: int = 7, batch: int = 2000,
         districts: list[str] | None = None, on_batch=None) -> None:
    """Store N generated submissions (raw rows + warehouse rows through the real parser and
    ``warehouse.write_many``), spread round-robin over ``districts`` (default: ``DISTRICT``).
    On PostgreSQL the raw rows go in with COPY (ids reserved from the sequence first), as the
    warehouse rows do; elsewhere with one executemany per batch."""
    from sqlalchemy import insert, select, text

    from exports import geo
    from pipeline import warehouse
    from pipeline.models import Form, InnovationProject, Submission
    from pipeline.parse import parse

    rng = random.Random(seed)
    form_pk = session.scalar(select(Form.id).where(Form.xml_form_id == schema.form_id))
    areas = [(geo.place("bd_district", d).parent, d, [p.code for p in geo.children("bd_upazila", d)])
             for d in (districts or [DISTRICT])]
    registered: dict[str, list[str]] = {}
    for code, district in session.execute(select(InnovationProject.code, InnovationProject.district)):
        registered.setdefault(district, []).append(code)
    start = datetime(2026, 7, 1, tzinfo=UTC)
    postgres = session.get_bind().dialect.name == "postgresql"
    done = 0
    while done < n:
        size = min(batch, n - done)
        raws, parsed = [], []
        for i in range(done, done + size):
            division, district, upazilas = areas[i % len(areas)]
            places = {"division": division, "district": district,
                      "upazila": upazilas[(i // len(areas)) % len(upazilas)]}
            projects = registered.get(district) or ["DNJ-2026-001"]  # the district's own
            instance_id, xml = submission_xml(schema, i, rng, repeat_rows, places, projects)
            received = start + timedelta(minutes=13 * i % (92 * 24 * 60))
            raws.append({"instance_id": instance_id, "root_id": instance_id, "current": True,
                         "form_id": form_pk, "form_version": schema.version, "xml": xml,
                         "xml_sha256": "0" * 64, "source": "collect", "submitter": f"inspector {i % 40}",
                         "received_at": received, "review_state": ("received", "approved", "has_issues")[i % 3],
                         "parse_status": "parsed",
                         "attachments_expected": 1 + repeat_rows})
            parsed.append(parse(schema, xml))
        if postgres:
            ids = session.execute(text("SELECT nextval('submissions_id_seq') FROM generate_series(1, :n)"),
                                  {"n": size}).scalars().all()
            for raw, submission_id in zip(raws, ids, strict=True):
                raw["id"] = submission_id
            warehouse._copy(session.connection(), Submission.__tablename__, tuple(raws[0]), raws)
            by_instance = {raw["instance_id"]: raw["id"] for raw in raws}
        else:
            ids = session.execute(insert(Submission).returning(Submission.id, Submission.instance_id), raws)
            by_instance = {iid: sid for sid, iid in ids}
        batch_rows = [(warehouse.SubmissionMeta(
            submission_id=by_instance[raw["instance_id"]], key=raw["instance_id"],
            form_version=schema.version, submitted_at=raw["received_at"], submitter=raw["submitter"],
            review_state=raw["review_state"], attachments_expected=raw["attachments_expected"]), p)
            for raw, p in zip(raws, parsed, strict=True)]
        warehouse.write_many(session.connection(), batch_rows, replace=False)
        session.commit()
        done += size
        if on_batch:
            on_batch(done)


def setup(database_url: str, n: int, workdir: Path) -> None:
    from pipeline.db import make_engine, session_factory, upgrade
    from pipeline.forms import publish
    from pipeline.models import InnovationProject
    from pipeline.schema import FormSchema

    engine = make_engine(database_url)
    upgrade(engine)
    session = session_factory(engine)()
    built, media = build_form(workdir)
    publish(session, built, None, media, "bench")
    for code, upazila in (("DNJ-2026-001", "552710"), ("DNJ-2026-002", "552712")):
        session.add(InnovationProject(code=code, title_en=f"Project {code}", title_bn=f"প্রকল্প {code}",
                                      division="55", district=DISTRICT, upazila=upazila))
    session.commit()
    load(session, FormSchema.from_xform(built.xml), n)
    session.close()
    engine.dispose()


def setup_with_reader(database_url: str, n: int, workdir: Path) -> None:
    """``setup``, and a supervisor of the inspections' district (``USER``, ``PASSWORD``)."""
    setup(database_url, n, workdir)
    from pipeline import accounts
    from pipeline.db import make_engine, session_factory

    engine = make_engine(database_url)
    with session_factory(engine)() as session:
        accounts.create_user(session, USER, PASSWORD, "supervisor", [f"bd_district:{DISTRICT}"])
        session.commit()
    engine.dispose()


def arguments(description: str, n: int, repeat: int, *, steps: bool = True) -> argparse.ArgumentParser:
    """The options the loading benchmarks share; with ``steps``, the hidden ones by which the
    script runs itself as a child process for one timed step (``--work``: its file or folder)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--n", type=int, default=n, help="inspection submissions")
    parser.add_argument("--repeat", type=int, default=repeat, help="runs of each (median reported)")
    parser.add_argument("--database-url", help="an empty database (default: a new SQLite file)")
    if steps:
        parser.add_argument("--step", help=argparse.SUPPRESS)
        parser.add_argument("--work", help=argparse.SUPPRESS)
    return parser


@contextmanager
def loaded(args: argparse.Namespace, load=setup) -> Iterator[tuple[str, Path]]:
    """The database (``--database-url``, or a new SQLite file) with ``--n`` inspections loaded
    by ``load``, and a work folder, both gone afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        url = args.database_url or f"sqlite:///{work / 'bench.db'}"
        started = time.perf_counter()
        load(url, args.n, work)
        print(f"loaded {args.n} submissions × 3 photos in {time.perf_counter() - started:.1f} s",
              flush=True)
        yield url, work


# ---- the timed steps, each run in a child process ---------------------------------------

def step(kind: str, database_url: str, out: Path) -> dict:
    from pipeline.db import make_engine, session_factory

    engine = make_engine(database_url)
    session = session_factory(engine)()
    scope = [f"bd_district:{DISTRICT}"]
    if kind == "floor":
        cells = _cells(session, scope)  # read and labelled before the clock starts
        cpu_before, started = cpu_seconds(), time.perf_counter()
        _raw_write(cells, out)
    elif kind == "workbook":
        from exports.xlsx import build_workbook

        cpu_before, started = cpu_seconds(), time.perf_counter()
        build_workbook(session, scope, "2026-Q3", "bn", out, "https://sangjog.example.org")
    else:
        from exports.csvzip import write_zip

        cpu_before, started = cpu_seconds(), time.perf_counter()
        write_zip(session, "innovation_inspection", out, scope, "2026-Q3")
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "cpu_s": cpu_seconds() - cpu_before, "peak_mb": peak_mb(),
            "bytes": out.stat().st_size}


def cpu_seconds() -> float:
    """This process's CPU time so far (user and system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_mb() -> float:
    """This process's peak memory (``ru_maxrss``, kilobytes on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cells(session, scope) -> list[tuple[str, list[list[object]]]]:
    """Every data-sheet cell of the workbook, as the workbook writes them (labels, serial dates,
    link texts), held in memory so the floor times xlsxwriter alone."""
    from exports import labels, query
    from exports.period import Period

    sel = query.select_form(session, "innovation_inspection", scope, Period.parse("2026-Q3"))
    files = labels.FileChoices(session, "bn")
    tables = [(sel.schema.main, None, True)] + [(spec, spec.name, False) for spec in sel.repeat_specs()]
    sheets = []
    for spec, name, is_main in tables:
        cols = labels.columns_for(spec, sel.tables[spec.name], "bn", files, is_main=is_main)
        rows: list[list[object]] = []
        for frame in query.frames(session, sel, name):
            prepared = labels.prepare(frame, cols, lambda s, f: f"https://x/attachments/{s}/{f}")
            rows += [list(r) for r in zip(*prepared.values, strict=True)]
        sheets.append((spec.name, rows))
    return sheets


def _raw_write(sheets, out: Path) -> None:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(out), {"constant_memory": True})
    for name, rows in sheets:
        ws = workbook.add_worksheet(name[-31:])
        links = 0
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, tuple):  # attachment: a link, a formula past Excel's limit
                    if links < 65_530:
                        ws.write_url(r, c, value[0], None, value[1])
                        links += 1
                    else:
                        ws.write_formula(r, c, f'=HYPERLINK("{value[0]}","{value[1]}")', None, value[1])
                elif isinstance(value, str):
                    ws.write_string(r, c, value)
                else:
                    ws.write_number(r, c, value)
    workbook.close()


def main(argv: list[str] | None = None) -> int:
    args = arguments("Time the export pipelines.", 10_000, 3).parse_args(argv)
    if args.step:  # child process: one timed step
        print(json.dumps(step(args.step, args.database_url, Path(args.work))))
        return 0
    with loaded(args) as (url, work):
        results: dict[str, list[dict]] = {}
        # Interleaved, so a busy machine slows every step alike.
        for i in range(args.repeat):
            for kind in ("floor", "workbook", "csvzip"):
                out = work / f"{kind}-{i}.{'zip' if kind == 'csvzip' else 'xlsx'}"
                proc = subprocess.run([sys.executable, __file__, "--step", kind, "--database-url", url,
                                       "--work", str(out)], capture_output=True, text=True)
                if proc.returncode:
                    raise SystemExit(f"step {kind} failed:\n{proc.stderr}")
                results.setdefault(kind, []).append(json.loads(proc.stdout.strip().splitlines()[-1]))
        summary = {kind: {"median_s": round(statistics.median(r["seconds"] for r in runs), 3),
                          "median_cpu_s": round(statistics.median(r["cpu_s"] for r in runs), 3),
                          "peak_mb": round(max(r["peak_mb"] for r in runs), 1),
                          "mb": round(runs[0]["bytes"] / 1e6, 2)}
                   for kind, runs in results.items()}
        summary["workbook_vs_floor"] = round(summary["workbook"]["median_s"] / summary["floor"]["median_s"], 2)
        summary["workbook_vs_floor_cpu"] = round(
            summary["workbook"]["median_cpu_s"] / summary["floor"]["median_cpu_s"], 2)
        # Central takes 3.1–4.3 s for 10k submissions + 30k repeat rows; scaled to N linearly.
        summary["csvzip_speedup_vs_central"] = round(3.1 * args.n / 10_000 / summary["csvzip"]["median_s"], 1)
        print(json.dumps({"n": args.n, **summary}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

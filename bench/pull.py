"""Pull benchmark: one ``sangjog pull`` of N inspections from local KoBoToolbox and ODK Central
stand-ins.

    .venv/bin/python bench/pull.py                  # 2,500 submissions, both services, 3 runs
    .venv/bin/python bench/pull.py --n 500 --repeat 1 --kind central
    .venv/bin/python bench/pull.py --database-url postgresql://...   # another backend

It builds the real ``innovation_inspection`` XLSForm (bench/export.py's builder), generates N
filled submissions (1–3 repeat rows; every 50th names photos, sent as files), and serves them
from the test stand-ins (tests/fakes: Central's OData feed, XML and attachments; KoBo's data list
and XML) on 127.0.0.1. Each run pulls everything into a fresh database with the connector
(``sources.pull``: fetching, mapping, storing and loading into the warehouse), timed end to end.
Reported: submissions per second, median of --repeat runs.

Target (docs/benchmarks.md): at least 70 submissions/s for 2,500 submissions. The script exits 1
when it is missed.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from export import DISTRICT, build_form, submission_xml  # noqa: E402

TARGET = 70.0


def _photo() -> bytes:
    """A real JPEG of about 50 KB (pulls check that a picture decodes to its end)."""
    import io

    from PIL import Image

    noise = random.Random(5).randbytes(240 * 180 * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (240, 180), noise).save(out, "JPEG", quality=85)
    return out.getvalue()


PHOTO = _photo()


def generate(built, n: int, seed: int = 11) -> list[tuple[bytes, dict[str, bytes]]]:
    """N submissions of the form; every 50th names its photos, the others leave them empty."""
    import re

    from pipeline.schema import FormSchema

    schema = FormSchema.from_xform(built.xml)
    rng = random.Random(seed)
    places = {"division": "55", "district": DISTRICT, "upazila": "552710"}
    out = []
    for i in range(n):
        _iid, xml = submission_xml(schema, i, rng, 1 + i % 3, places, ["DNJ-2026-001"])
        names = re.findall(rb">([\w-]+-\d+\.jpg)<", xml)
        if i % 50:
            for name in names:
                xml = xml.replace(b">" + name + b"<", b"><")
            out.append((xml, {}))
        else:
            out.append((xml, {name.decode(): PHOTO for name in names}))
    return out


def one_run(kind: str, database_url: str, built, media, url: str, fake) -> float:
    from pipeline.connectors import sources
    from pipeline.db import make_engine, session_factory, upgrade
    from pipeline.forms import publish
    from pipeline.storage import BlobStore

    engine = make_engine(database_url)
    upgrade(engine)
    with session_factory(engine)() as session, tempfile.TemporaryDirectory() as blobs_dir:
        publish(session, built, None, media, "bench")
        if kind == "central":
            source = sources.add(session, kind="central", name="bench", url=url,
                                 secret=fake.password, username=fake.email,
                                 remote_form=f"{fake.project}:{fake.form}",
                                 form_id=built.form_id)
        else:
            source = sources.add(session, kind="kobo", name="bench", url=url, secret=fake.token,
                                 remote_form=fake.asset, form_id=built.form_id)
        started = time.perf_counter()
        run = sources.pull(session, BlobStore(Path(blobs_dir)), source)
        elapsed = time.perf_counter() - started
        if run.status != "ok" or run.new != len(fake.records):
            raise SystemExit(f"{kind}: the pull did not bring everything: {run.status} "
                             f"{run.new}/{len(fake.records)} {run.message}")
    engine.dispose()
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--kind", choices=("central", "kobo", "both"), default="both")
    parser.add_argument("--database-url", help="default: a fresh SQLite file per run")
    args = parser.parse_args(argv)

    import logging

    from tests.fakes.central_server import FakeCentral
    from tests.fakes.kobo_server import FakeKobo

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    missed = False
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        built, media = build_form(work)
        submissions = generate(built, args.n)
        from pipeline.schema import FormSchema

        repeat_tags = tuple(spec.path.rsplit("/", 1)[-1]
                            for spec in FormSchema.from_xform(built.xml).repeats)
        kinds = ("central", "kobo") if args.kind == "both" else (args.kind,)
        for kind in kinds:
            fake = (FakeCentral(form=built.form_id) if kind == "central"
                    else FakeKobo(asset="aInspection1", repeats=repeat_tags))
            for xml, files in submissions:
                fake.add(xml, files)
            rates = []
            with serving_apart(fake) as server_url:
                for r in range(args.repeat):
                    url = args.database_url or f"sqlite:///{work}/pull-{kind}-{r}.db"
                    if args.database_url:
                        _reset(args.database_url)
                    rates.append(args.n / one_run(kind, url, built, media, server_url, fake))
            median = statistics.median(rates)
            print(f"{kind}: {args.n} submissions, {median:.1f} submissions/s (median of "
                  f"{args.repeat}: {', '.join(f'{r:.1f}' for r in rates)})")
            missed = missed or median < TARGET
    return 1 if missed else 0


@contextmanager
def serving_apart(fake) -> Iterator[str]:
    """The stand-in in a process of its own (forked with its records), as a real server is:
    threaded, HTTP/1.1 keep-alive."""
    import multiprocessing
    import socket

    from werkzeug.serving import WSGIRequestHandler, make_server

    class KeepAlive(WSGIRequestHandler):
        protocol_version = "HTTP/1.1"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"

    def serve() -> None:
        make_server("127.0.0.1", port, fake.app, threaded=True,
                    request_handler=KeepAlive).serve_forever()

    child = multiprocessing.get_context("fork").Process(target=serve, daemon=True)
    child.start()
    try:
        for _ in range(200):  # until it listens
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield url
    finally:
        child.terminate()
        child.join(5)


def _reset(database_url: str) -> None:
    from sqlalchemy import MetaData

    from pipeline.db import make_engine

    engine = make_engine(database_url)
    meta = MetaData()
    meta.reflect(engine)
    meta.drop_all(engine)
    engine.dispose()


if __name__ == "__main__":
    raise SystemExit(main())

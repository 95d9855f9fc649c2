"""Fixtures shared by the whole suite.

Every test that asks for ``database_url`` (or ``app``, ``client``, ``runner``, ``session``) runs
twice: on a SQLite file and on PostgreSQL (a throwaway cluster on 127.0.0.1). Each test gets a
fresh database copied from a migrated template, so tests never see each other's rows.
Choose one backend with ``--db=sqlite`` or ``--db=postgresql``.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from pipeline.db import make_engine, upgrade
from tests.pg import Cluster

# Shared fixtures from plugins, for every test that asks for them: the admins' pages' (people,
# admin), the browser tests' (server, browser, page) and the S3 protocol server (s3_server). The
# web tests' (db, blobs, world, workshops, fast_hashing) are below. Test modules never import
# from each other.
pytest_plugins = ["tests.admin_pages", "tests.browser", "tests.s3"]

BACKENDS = ("sqlite", "postgresql")
_counter = itertools.count()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--db", default="both", choices=("both", *BACKENDS),
                     help="database backend(s) to run database tests on")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        choice = metafunc.config.getoption("--db")
        backends = BACKENDS if choice == "both" else (choice,)
        metafunc.parametrize("backend", backends, scope="session" if False else "function")
    if metafunc.definition.get_closest_marker("both_stores") and "app" in metafunc.fixturenames:
        metafunc.parametrize("blob_settings", ["files", "s3"], indirect=True)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    # Not under pytest's temp root: another pytest run on the machine makes that root private
    # (0700) and prunes old runs, which cuts the postgres user off from a live cluster.
    base = Path(tempfile.mkdtemp(prefix="sangjog-pg-"))
    cluster = Cluster(base).start()
    engine = make_engine(cluster.url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("CREATE DATABASE sangjog_template"))
    engine.dispose()
    template = make_engine(cluster.database_url("sangjog_template"))
    upgrade(template)
    template.dispose()
    yield cluster
    cluster.stop()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        path = tmp_path / "warehouse.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    cluster: Cluster = request.getfixturevalue("pg_cluster")
    name = f"t_{next(_counter)}"
    admin = make_engine(cluster.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} TEMPLATE sangjog_template"))
    yield cluster.database_url(name)
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture
def blob_settings(request: pytest.FixtureRequest) -> dict[str, str]:
    """The attachment store of a test's app: the data folder, or (tests marked ``both_stores``,
    run once with each) a fresh bucket on the suite's S3 protocol server (``tests/s3.py``)."""
    if getattr(request, "param", "files") != "s3":
        return {}
    server = request.getfixturevalue("s3_server")
    return {"BLOB_STORE": f"s3://{server.new_bucket()}/attachments",
            "BLOB_STORE_ENDPOINT_URL": server.url}


@pytest.fixture
def app(database_url: str, tmp_path: Path, blob_settings: dict[str, str]):
    from pipeline import caches
    from pipeline.db import writer_for
    from sync_server import background_loader, create_app

    app = create_app({
        "TESTING": True,
        "SANGJOG_DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": True,
        **blob_settings,
    })
    yield app
    caches.clear_all()  # the next test starts with nothing remembered from this one
    background_loader.stop(app)
    writer_for(app.extensions["engine"]).close()
    app.extensions["engine"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def session(app):
    """A session on the test's own database (committed writes are visible to the app)."""
    with app.app_context():
        s = app.extensions["sessions"]()
        yield s
        s.close()


@pytest.fixture(scope="session")
def built_forms():
    """The five xlsforms/ forms as BuiltForm by form id, converted once (see tests/formtools.py)."""
    from tests import formtools

    return formtools.built_forms()


@pytest.fixture
def published_forms(session, built_forms):
    """The five forms published (with static media) in this test's database: FormVersion by id."""
    from tests import formtools

    return formtools.publish_all(session)


@pytest.fixture
def fast_hashing(monkeypatch):
    """argon2 at its cheapest, set as a deployment sets it (the ``PASSWORD_HASH_*`` settings in
    the environment) for the apps the test makes after it: ask for it before ``app``, as a
    module's ``pytestmark`` does. The web tests log in hundreds of times; each hash keeps its
    cost, so logins still run the real algorithm."""
    for name in ("PASSWORD_HASH_TIME_COST", "PASSWORD_HASH_MEMORY_MB", "PASSWORD_HASH_PARALLELISM"):
        monkeypatch.setenv(name, "1")


@pytest.fixture
def db(app):
    """A session on the test's database that, unlike ``session``, pushes no app context: the
    app's requests then each get their own ``g``, as they do in production."""
    s = app.extensions["sessions"]()
    yield s
    s.close()


@pytest.fixture
def blobs(app):
    """The app's attachment store."""
    return app.extensions["blobs"]


@pytest.fixture
def world(db, blobs):
    """Users of every role, the registry, and two inspections in each of the two districts
    (``tests.builders.seed``)."""
    from tests import builders

    return builders.seed(db, blobs)


@pytest.fixture
def workshops(world, db, blobs):
    """Workshops in both districts: ties, a second ballot, a staff ballot and six picks in
    Rangpur; one nomination and ballot in Kurigram."""
    from tests.builders import KURIGRAM, RANGPUR, add_district_workshop

    many = [f"r-extra-{i}" for i in range(6)]
    add_district_workshop(db, blobs, RANGPUR,
                          {"r-desk": "Rangpur land desk", "r-sms": "Rangpur SMS reminders",
                           "r-wall": "Rangpur budget wall"},
                          [("Amina Khatun", "up_chairman", ["r-desk", "r-sms"]),
                           ("Babul Mia", "up_member", ["r-desk", "r-wall"]),
                           ("amina khatun.", "up_chairman", ["r-wall"]),  # her second ballot
                           ("Chanda Rani", "up_secretary", ["r-wall"]),  # staff do not vote
                           ("Dulal Hossain", "mayor", many)])  # six picks
    add_district_workshop(db, blobs, KURIGRAM, {"k-boat": "Kurigram boat school"},
                          [("Eti Begum", "up_chairman", ["k-boat"])])

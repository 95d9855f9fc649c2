"""Submissions list benchmark: the web list of N inspections, as a supervisor pages through it.

    .venv/bin/python bench/lists.py                  # 100,000 submissions
    .venv/bin/python bench/lists.py --n 20000 --repeat 5
    .venv/bin/python bench/lists.py --database-url postgresql://...   # another backend

Loads N generated ``innovation_inspection`` submissions (the export benchmark's loader: the real
XLSForm, parser and warehouse writer), logs a supervisor of their district in through the real
login form, then times, in one process, the median of --repeat runs of each page
(``GET /forms/innovation_inspection/submissions?...`` through the whole app: scope, filters,
sort, keyset page, count, template):

- ``first``: the default list (newest visit first), 50 rows;
- ``next``: the page after it (keyset cursor);
- ``deep``: a keyset page from a row in the middle of the list;
- ``page_200``: page 200 by its number (offset);
- ``sort_district`` / ``sort_progress``: sorted by a column heading, first page;
- ``size_200``: 200 rows a page;
- ``place_search``: a place name typed in the search box ("Birampur");
- ``bengali_search``: the same name typed in Bengali ("বিরামপুর");
- ``filtered``: an upazila and a review state.

``floor`` is the baseline in the same process: the first 50 warehouse rows by id through
SQLAlchemy, no HTTP, no template. Target (docs/benchmarks.md): every page under 300 ms; the
script exits 1 when one is slower.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from export import PASSWORD, USER, arguments, loaded, setup_with_reader  # noqa: E402  (the loader)

TARGET_MS = 300
LIST = "/forms/innovation_inspection/submissions"


def pages(client) -> dict[str, str]:
    first = client.get(LIST).get_data(as_text=True)
    following = re.search(r'rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    ids = [int(i) for i in re.findall(r'href="/submissions/(\d+)', first)]
    middle = (max(ids) + min(ids)) // 2 if ids else 1
    return {
        "first": LIST, "next": following, "deep": f"{LIST}?before={middle // 2}&page=900",
        "page_200": f"{LIST}?page=200", "sort_district": f"{LIST}?sort=district",
        "sort_progress": f"{LIST}?sort=-progress", "size_200": f"{LIST}?size=200",
        "place_search": f"{LIST}?q=Birampur", "bengali_search": f"{LIST}?q=বিরামপুর",
        "filtered": f"{LIST}?upazila=552710&review_state=received",
    }


def main(argv: list[str] | None = None) -> int:
    args = arguments("Time the submissions list pages.", 100_000, 5, steps=False).parse_args(argv)
    with loaded(args, setup_with_reader) as (url, work):
        from sqlalchemy import select

        from pipeline import warehouse
        from sync_server import create_app

        app = create_app({"DATABASE_URL": url, "SANGJOG_DATA_DIR": str(work / "data"),
                          "SECRET_KEY": "bench", "SERVER_URL": "http://127.0.0.1:5000"})
        client = app.test_client()
        login = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)
        assert client.post("/login", data={"username": USER, "password": PASSWORD,
                                           "csrf_token": token}).status_code == 302
        targets = pages(client)
        engine = app.extensions["engine"]
        times: dict[str, list[float]] = {name: [] for name in ["floor", *targets]}
        for _ in range(args.repeat):
            with engine.connect() as conn:
                table = warehouse.form_tables(conn, "innovation_inspection")[
                    "wh_innovation_inspection"]
                t0 = time.perf_counter()
                rows = conn.execute(select(table).order_by(table.c._submission_id.desc())
                                    .limit(50)).all()
                times["floor"].append(time.perf_counter() - t0)
                assert len(rows) == 50
            for name, path in targets.items():
                t0 = time.perf_counter()
                response = client.get(path)
                times[name].append(time.perf_counter() - t0)
                assert response.status_code == 200, (name, response.status_code)
        floor = statistics.median(times["floor"])
        summary = {name: {"median_ms": round(statistics.median(t) * 1000, 1),
                          "vs_floor": round(statistics.median(t) / floor, 1)}
                   for name, t in times.items()}
        backend = url.split(":", 1)[0]
        print(json.dumps({"n": args.n, "backend": backend, **summary}, indent=2))
        slow = [name for name, s in summary.items() if s["median_ms"] > TARGET_MS]
        if slow:
            print(f"slower than {TARGET_MS} ms: {', '.join(slow)}", file=sys.stderr)
            return 1
        return 0


if __name__ == "__main__":
    sys.exit(main())

"""Bytes on the wire for each form as Collect downloads it (form list, XForm, manifest, media),
without and with gzip, and the time gzip takes on the server.

    .venv/bin/python bench/compression.py

Publishes the five forms from ``xlsforms/`` (their SAMPLE generated media replaced by what a
fresh server generates) into a throwaway SQLite database and asks for every file as an app user
given all five forms, once with ``Accept-Encoding: identity`` and once with ``gzip`` (what
Collect's HTTP client sends). Prints a Markdown table for docs/collect.md.
"""

from __future__ import annotations

import gzip
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from defusedxml import ElementTree  # noqa: E402

from pipeline import accounts, forms  # noqa: E402
from sync_server import compression, create_app  # noqa: E402
from sync_server.db import get_session  # noqa: E402
from tests import formtools  # noqa: E402

LIST = "{http://openrosa.org/xforms/xformsList}"
MANIFEST = "{http://openrosa.org/xforms/xformsManifest}"


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"SANGJOG_DATA_DIR": tmp, "DATABASE_URL": f"sqlite:///{tmp}/bench.db",
                          "SECRET_KEY": "bench"})
        from pipeline.db import upgrade

        upgrade(app.extensions["engine"])
        with app.app_context():
            session = get_session()
            for form_id, built in formtools.built_forms().items():
                forms.publish(session, built, (formtools.XLSFORMS / f"{form_id}.xlsx").read_bytes(),
                              formtools.static_media(form_id), "bench")
            key = accounts.create_app_user(session, "bench", list(formtools.FORM_IDS), actor="bench").token
            session.commit()
        client = app.test_client()

        def both(path: str) -> tuple[int, int, bytes]:
            plain = client.get(path, headers={"Accept-Encoding": "identity"})
            packed = client.get(path, headers={"Accept-Encoding": "gzip"})
            assert plain.status_code == packed.status_code == 200, (path, plain.status_code)
            return len(plain.data), len(packed.data), plain.data

        listed_plain, listed_gz, listing = both(f"/key/{key}/formList")
        print(f"form list (5 forms): {listed_plain:,} → {listed_gz:,} bytes\n")
        print("| form | XForm | manifest | media files | total before | total after | saved |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        grand = [0, 0]
        for entry in ElementTree.fromstring(listing).findall(f"{LIST}xform"):
            form_id = entry.findtext(f"{LIST}formID")
            x0, x1, _ = both(_path(entry.findtext(f"{LIST}downloadUrl")))
            m0 = m1 = f0 = f1 = 0
            names = []
            manifest_url = entry.findtext(f"{LIST}manifestUrl")
            if manifest_url:
                m0, m1, manifest = both(_path(manifest_url))
                for media in ElementTree.fromstring(manifest).findall(f"{MANIFEST}mediaFile"):
                    a, b, _ = both(_path(media.findtext(f"{MANIFEST}downloadUrl")))
                    f0, f1 = f0 + a, f1 + b
                    names.append(f"{media.findtext(f'{MANIFEST}filename')} {a:,} → {b:,}")
            before, after = x0 + m0 + f0, x1 + m1 + f1
            grand[0], grand[1] = grand[0] + before, grand[1] + after
            print(f"| `{form_id}` | {x0:,} → {x1:,} | {m0:,} → {m1:,} | {'; '.join(names) or '—'} "
                  f"| {before:,} | {after:,} | {100 * (1 - after / before):.0f} % |")
        print(f"| all five | | | | {grand[0]:,} | {grand[1]:,} | {100 * (1 - grand[1] / grand[0]):.0f} % |")

        xform = formtools.built_forms()["innovation_inspection"].xml
        fresh, kept = [], []
        for _ in range(20):
            start = time.perf_counter()
            gzip.compress(xform, compresslevel=compression.LEVEL, mtime=0)
            fresh.append(time.perf_counter() - start)
            compression._gzip(xform)
            start = time.perf_counter()
            compression._gzip(xform)  # the next download of the same version
            kept.append(time.perf_counter() - start)
        print(f"\ngzip of the inspection XForm ({len(xform):,} bytes) at level {compression.LEVEL}: "
              f"median {statistics.median(fresh) * 1000:.1f} ms; already kept: "
              f"{statistics.median(kept) * 1000:.2f} ms")

if __name__ == "__main__":
    main()

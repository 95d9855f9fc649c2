"""Where an upload's CPU goes: the app alone, called through ``app.wsgi_app`` (no HTTP server),
its pieces timed with ``time.process_time``, against the bare endpoint of ``bench/ingest.py``
called the same way; then the loader's CPU per upload, in batches.

    .venv/bin/python bench/upload_cpu.py [--backend postgresql|sqlite] [--requests 2000] [--repeat 3]
                                         [--batch 125]

What ``bench/ingest.py`` measures through real HTTP is the figure that counts; this says which
piece of it to look at. The pieces overlap (``accept`` holds ``store``; ``collect_user`` holds
the key's read).
"""

from __future__ import annotations

import argparse
import functools
import io
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import bare_app, one_submission, postgres_url, prepare  # noqa: E402

spent: Counter[str] = Counter()


def timed(owner: Any, name: str) -> None:
    """Count the CPU of ``owner.name`` in ``spent`` (replaces the attribute)."""
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            spent[name] += time.process_time() - started

    setattr(owner, name, wrapper)


def timed_hooks(app: Any) -> None:
    for hooks, kind in ((app.before_request_funcs, "before"), (app.after_request_funcs, "after")):
        for blueprint, funcs in hooks.items():
            hooks[blueprint] = [_timed_hook(f, f"{kind}: {f.__name__}") for f in funcs]


def _timed_hook(func: Any, label: str) -> Any:
    def hook(*args: Any) -> Any:
        started = time.process_time()
        try:
            return func(*args)
        finally:
            spent[label] += time.process_time() - started
    return hook


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", default="postgresql", choices=("postgresql", "sqlite"))
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch", type=int, default=125, help="uploads per loader batch")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sangjog-upload-cpu-") as tmp:
        workdir = Path(tmp)
        stop = lambda: None  # noqa: E731
        if args.backend == "postgresql":
            url, stop = postgres_url(workdir)
        else:
            url = f"sqlite:///{workdir / 'bench.db'}"
        try:
            measure(url, workdir, args)
        finally:
            stop()


def measure(url: str, workdir: Path, args: argparse.Namespace) -> None:
    key = prepare(url)
    # The loader runs below, by itself, not in a thread of the app.
    os.environ.update(DATABASE_URL=url, SANGJOG_DATA_DIR=str(workdir / "data"),
                      SECRET_KEY="upload-cpu", SANGJOG_LOADER_PROCESS="1")
    from pipeline import accounts, loader, rawstore
    from pipeline.db import make_engine, session_factory
    from sync_server import auth, create_app, openrosa

    app, bare = create_app(), bare_app()

    def post(target: Any) -> None:
        body, content_type = one_submission()
        status: list[str] = []
        environ = {
            "REQUEST_METHOD": "POST", "PATH_INFO": f"/key/{key}/submission",
            "QUERY_STRING": "deviceID=collect:bench", "CONTENT_TYPE": content_type,
            "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "5000", "wsgi.url_scheme": "http",
            "HTTP_HOST": "127.0.0.1:5000", "HTTP_X_OPENROSA_VERSION": "1.0",
            "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.errors": sys.stderr}
        answer = target.wsgi_app(environ, lambda s, h, e=None: status.append(s))
        b"".join(answer)
        getattr(answer, "close", lambda: None)()
        if not status[0].startswith("201"):
            raise RuntimeError(f"expected 201, got {status[0]}")

    def per_upload(target: Any, count: int) -> float:
        started = time.process_time()
        for _ in range(count):
            post(target)
        return (time.process_time() - started) / count * 1000

    sessions = session_factory(make_engine(url))
    for _ in range(100):  # warm: statements prepared, forms read, connections kept
        post(app)
        post(bare)
    with sessions() as session:
        loader.load_pending(session)
    timed(auth, "collect_user")
    timed(accounts, "key_holder")
    timed(openrosa, "read_upload")
    timed(openrosa, "accept")
    timed(rawstore, "read_envelope")
    timed(rawstore, "store")
    timed_hooks(app)
    print(f"{args.backend}: CPU ms per upload, {args.requests} uploads a run")
    for _ in range(args.repeat):
        spent.clear()
        ours, theirs = per_upload(app, args.requests), per_upload(bare, args.requests)
        pieces = ", ".join(f"{name} {seconds / args.requests * 1000:.3f}"
                           for name, seconds in spent.most_common())
        print(f"  app {ours:.3f}, bare app {theirs:.3f}; {pieces}")
    with sessions() as session:  # what the runs above stored, untimed
        while loader.newest_pending(session) is not None:
            loader.load_pending(session)
    for _ in range(args.repeat):
        for _ in range(args.batch):
            post(app)
        started = time.process_time()
        with sessions() as session:
            while loader.newest_pending(session) is not None:
                loader.load_pending(session)
        print(f"  loader {(time.process_time() - started) / args.batch * 1000:.3f} per upload "
              f"(a batch of {args.batch})")


if __name__ == "__main__":
    main()

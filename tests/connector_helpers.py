"""What the connector tests share: fake servers on 127.0.0.1, a source they feed, a look at
what was stored, and a pull held mid-way in another thread (with its own database engine, as
another process would have)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.db import make_engine, session_factory
from pipeline.models import Form, PullRun, Source, Submission
from tests import builders
from tests.fakes.serve import Hold, serving


def picture(colour: tuple[int, int, int], size: tuple[int, int] = (64, 48)) -> bytes:
    """A real JPEG: pulls check that a picture decodes to its end."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG")
    return out.getvalue()


JPEG = picture((200, 40, 40))
OTHER_JPEG = picture((40, 40, 200))


@contextmanager
def served(server: Any) -> Iterator[Any]:
    """Run a fake server on 127.0.0.1; its address is ``server.url``."""
    with serving(server.app) as url:
        server.url = url
        yield server


def add_source(session: Session, **fields: Any) -> Source:
    """A source feeding our published site_visit form (published here if it is not yet)."""
    form = session.scalar(select(Form).where(Form.xml_form_id == "site_visit"))
    form = form or builders.publish(session, "site_visit").form
    src = Source(form_id=form.id, **fields)
    session.add(src)
    session.commit()
    return src


def add_visits(fake: Any, count: int, start: int = 1, *, prefix: str, **kwargs: Any) -> list[str]:
    """``count`` site visits with a photo each, instanceIDs ``uuid:{prefix}-0001``..."""
    ids = []
    for n in range(start, start + count):
        iid = f"uuid:{prefix}-{n:04d}"
        fake.add(builders.site_visit(iid, name=f"Visitor {n}", photo=f"p{n}.jpg"),
                 {f"p{n}.jpg": JPEG},
                 **kwargs)
        ids.append(iid)
    return ids


def stored(session: Session) -> dict[str, Submission]:
    session.rollback()
    return {s.instance_id: s for s in session.scalars(select(Submission))}


def runs_of(session: Session, source: Source) -> list[tuple[str, str | None]]:
    session.rollback()
    return [(r.status, r.message) for r in session.scalars(
        select(PullRun).where(PullRun.source_id == source.id).order_by(PullRun.id))]


class HeldPull:
    """A pull running in another thread, held at its first XML download until ``finish()``."""

    def __init__(self, app: Any, fake: Any, source: Source,
                 pull: Callable[[Session, Source], PullRun]) -> None:
        self.hold = fake.hold_xml = Hold()
        self._engine = make_engine(app.config["DATABASE_URL"])
        self._outcome: list[Any] = []
        self._thread = threading.Thread(target=self._run, args=(app, source.id, pull),
                                        daemon=True)

    def _run(self, app: Any, source_id: int, pull: Callable[[Session, Source], PullRun]) -> None:
        with app.app_context(), session_factory(self._engine)() as session:
            try:
                self._outcome.append(pull(session, session.get(Source, source_id)))
            except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
                self._outcome.append(exc)

    def start(self) -> HeldPull:
        self._thread.start()
        assert self.hold.reached.wait(15), "the pull never reached the held download"
        return self

    def finish(self) -> PullRun:
        """Let the pull go on; its run (or what it raised, raised here)."""
        self.hold.release()
        self._thread.join(30)
        self._engine.dispose()
        assert not self._thread.is_alive(), "the held pull did not finish"
        (outcome,) = self._outcome
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


@contextmanager
def held_pull(app: Any, fake: Any, source: Source,
              pull: Callable[[Session, Source], PullRun]) -> Iterator[HeldPull]:
    """Start ``pull(session, source)`` in another thread and hold it mid-way for the ``with``
    body; released (and joined, bounded) however the body ends."""
    held = HeldPull(app, fake, source, pull).start()
    try:
        yield held
    finally:
        held.hold.release()
        held._thread.join(30)
        fake.hold_xml = None

"""Phones on slow networks never stall the server: with 16 connections dribbling an upload one
byte every 2 s (and 4 more dribbling their headers, which needs no credentials), a page on the
same server answers in under 2 s, with one worker (the default) and with several. (gunicorn's
sync workers, the server before, kept it waiting 16-30 s.)"""

from __future__ import annotations

import threading

import pytest

from pipeline.db import make_engine, upgrade
from tests.live_server import LiveServer
from tests.slow_clients import dribbling, probe


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_a_page_answers_while_16_clients_dribble_uploads(tmp_path, workers):
    url = f"sqlite:///{tmp_path / 'slow.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    with LiveServer(url, tmp_path, workers=workers) as server:
        for _ in range(4 * workers):  # every worker's first page (templates, connections)
            probe(server.port)
        _probe_while_dribbling(server)


def _probe_while_dribbling(server: LiveServer) -> None:
    with dribbling(server.port, 16, 2.0, headers_only=4):
        # After the first byte of the body, and across the next ones (bounded: about 5 s).
        took = []
        paced = threading.Event()
        for _ in range(3):
            took.append(probe(server.port, timeout=10))
            paced.wait(1.5)
    assert max(took) < 2.0, took

"""The compiled catalogues are committed, never compiled at run time: each ``.mo`` must be the
compile of its ``.po`` (``make translations``), so a ``.po`` edited without its ``.mo`` fails here
rather than showing old texts."""

from __future__ import annotations

import io

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from sync_server.web.i18n import TRANSLATIONS

CATALOGUES = sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))


def test_there_are_catalogues():
    assert {po.parent.parent.name for po in CATALOGUES} >= {"bn", "ne"}


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda po: po.parent.parent.name)
def test_each_committed_mo_is_the_compile_of_its_po(po):
    compiled = io.BytesIO()
    with po.open("rb") as fh:
        write_mo(compiled, read_po(fh, locale=po.parent.parent.name))
    mo = po.with_suffix(".mo")
    assert mo.exists(), f"{mo} is missing: run `make translations` and commit it"
    assert mo.read_bytes() == compiled.getvalue(), (
        f"{mo} is not the compile of {po.name}: run `make translations` and commit it")

"""Fixtures and helpers for the tests of admins' pages, on the test client and in Chromium.

``conftest.py`` registers this module (``pytest_plugins``), so a test simply asks for ``people``
(an admin, a Rangpur supervisor and a Rangpur district officer) and ``admin`` (a test client
logged in as the admin), and imports the helpers:

    from tests.admin_pages import failed_submission, upload, xlsform
"""

from __future__ import annotations

import io

import openpyxl
import pytest

from pipeline import accounts
from tests import builders
from tests.builders import RANGPUR


@pytest.fixture
def people(db):
    accounts.create_user(db, "admin", builders.PASSWORD, "admin", ["*"])
    accounts.create_user(db, "sup_rangpur", builders.PASSWORD, "supervisor",
                         [f"bd_district:{RANGPUR}"])
    accounts.create_user(db, "do_rangpur", builders.PASSWORD, "district_officer",
                         [f"bd_district:{RANGPUR}"])


@pytest.fixture
def admin(app):
    return builders.login(app.test_client(), "admin")


def xlsform(survey: list[list[str]], choices: list[list[str]] | None = None,
            form_id: str = "web_check", version: str = "1") -> bytes:
    """An XLSForm workbook with these survey (type, name, label) and choices rows."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "survey"
    for row in [["type", "name", "label"], *survey]:
        sheet.append(row)
    if choices:
        choice_sheet = book.create_sheet("choices")
        for row in [["list_name", "name", "label"], *choices]:
            choice_sheet.append(row)
    settings = book.create_sheet("settings")
    settings.append(["form_id", "version", "form_title"])
    settings.append([form_id, version, "Web check"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(client, content: bytes, name: str = "web_check.xlsx"):
    """Publish an XLSForm through the admins' forms page, as the logged-in client."""
    token = builders.csrf(client.get("/admin/forms").get_data(as_text=True))
    return client.post("/admin/forms", data={"csrf_token": token,
                                             "xlsform": (io.BytesIO(content), name)},
                       content_type="multipart/form-data")


def failed_submission(db, blobs, district: str) -> int:
    """An inspection with a field the form does not have: stored, but it cannot load."""
    xml = builders.inspection_xml(district, 40).replace(b"<progress>", b"<extra>x</extra><progress>")
    outcome = builders.submit(db, xml, {"desk.jpg": builders.picture()}, blobs=blobs,
                              submitter="phone-7", device_id="collect:abc123", check=False)
    db.commit()
    assert outcome.submission.parse_status == "failed"
    return outcome.submission.id

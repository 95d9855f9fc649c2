"""Generated media as an attacker with a low-privilege account gets them: through Collect's door
with HTTP Basic and with an app user's key, each gets only its own area's rows, and the
manifest's md5 is that of the requester's own copy."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import re
import uuid

import pytest

from pipeline import accounts
from tests import builders
from tests.builders import KURIGRAM, PASSWORD, RANGPUR

pytestmark = pytest.mark.usefixtures("fast_hashing")
PROJECTS = "/formMedia/innovation_inspection/innovation_projects.csv"
PLANS = "/formMedia/hl_followup/action_plans.csv"


def basic(username: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{PASSWORD}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def manifest_md5(response, name: str) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)
    found = re.search(rf"<filename>{re.escape(name)}</filename>\s*<hash>md5:([0-9a-f]+)</hash>",
                      response.get_data(as_text=True))
    assert found, response.get_data(as_text=True)
    return found.group(1)


@pytest.fixture
def nepal_plan(db, blobs):
    """An action plan from Kathmandu (np_district:306, province 3): never Rangpur's to read."""
    xml = builders.vary(builders.sample("hl_action_plan"), f"uuid:{uuid.uuid4()}")
    builders.submit(db, xml, {"signature.png": builders.picture()}, blobs=blobs)


def test_web_users_through_basic_get_only_their_areas_rows(client, world, nepal_plan):
    districts = {u: {r["district"] for r in rows(client.get(PROJECTS, headers=basic(u)))}
                 for u in ("admin", "sup_rangpur", "sup_division")}
    assert districts == {"admin": {RANGPUR, KURIGRAM}, "sup_rangpur": {RANGPUR},
                         "sup_division": {RANGPUR, KURIGRAM}}
    assert len(rows(client.get(PLANS, headers=basic("admin")))) == 1
    assert rows(client.get(PLANS, headers=basic("sup_rangpur"))) == []
    # The md5 each one's manifest announces is that of the copy each one downloads.
    for user in ("admin", "sup_rangpur"):
        body = client.get(PROJECTS, headers=basic(user)).data
        listed = manifest_md5(client.get("/formManifest/innovation_inspection",
                                         headers=basic(user)), "innovation_projects.csv")
        assert listed == hashlib.md5(body).hexdigest(), user


def test_read_only_officers_get_no_forms_and_no_media(client, world, nepal_plan):
    """District officers never collect: their Collect sees no form, and media are refused."""
    for user in ("do_kurigram", "do_rangpur"):
        listing = client.get("/formList", headers=basic(user))
        assert listing.status_code == 200 and "<formID>" not in listing.get_data(as_text=True)
        for path in (PROJECTS, PLANS, "/formManifest/hl_followup", "/formXml/hl_followup"):
            refused = client.get(path, headers=basic(user))
            assert refused.status_code == 403, (user, path)
            assert "may read submissions but not send them" in refused.get_data(as_text=True)
            assert b"KUR-2026" not in refused.data and b"RNG-2026" not in refused.data


def test_app_users_get_only_their_areas_rows_and_their_own_md5(client, db, world, nepal_plan):
    kurigram = accounts.create_app_user(db, "kurigram team", [], "admin",
                                        scope=[f"bd_district:{KURIGRAM}"])
    nepal = accounts.create_app_user(db, "bagmati team", [], "admin", scope=["np_province:3"])
    everywhere = accounts.create_app_user(db, "national team", [], "admin")
    seen = {}
    for app_user in (kurigram, nepal, everywhere):
        key = f"/key/{app_user.token}"
        seen[app_user.name] = (
            {r["name"] for r in rows(client.get(key + PROJECTS))},
            len(rows(client.get(key + PLANS))),
            manifest_md5(client.get(f"{key}/formManifest/innovation_inspection"),
                         "innovation_projects.csv"),
        )
    assert seen["kurigram team"][:2] == ({builders.PROJECT[KURIGRAM]}, 0)
    assert seen["bagmati team"][:2] == (set(), 1)
    assert seen["national team"][:2] == (set(builders.PROJECT.values()), 1)
    assert len({md5 for _, _, md5 in seen.values()}) == 3
    # A new area changes what the same key gets, and so the md5 Collect compares.
    accounts.set_app_user_scope(db, kurigram, [f"bd_district:{RANGPUR}"], "admin")
    key = f"/key/{kurigram.token}"
    assert {r["name"] for r in rows(client.get(key + PROJECTS))} == {builders.PROJECT[RANGPUR]}
    assert manifest_md5(client.get(f"{key}/formManifest/innovation_inspection"),
                        "innovation_projects.csv") != seen["kurigram team"][2]

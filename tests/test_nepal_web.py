"""Nepal in the web pages: the Nepali interface (texts, digits)."""

from __future__ import annotations

import re

import pytest

from tests import builders

pytestmark = pytest.mark.usefixtures("fast_hashing")
LIST = "/forms/innovation_inspection/submissions"


def in_nepali(client) -> None:
    token = builders.csrf(client.get("/dashboard").get_data(as_text=True))
    client.post("/language", data={"lang": "ne", "csrf_token": token})


def test_the_pages_speak_nepali_with_devanagari_digits_in_sentences(client, world):
    builders.login(client, "sup_rangpur")
    english = client.get(LIST).get_data(as_text=True)
    assert "2 submissions match" in english
    # The switch offers all three languages on every page.
    assert re.findall(r'name="lang" value="(\w+)"', english) == ["en", "bn", "ne"]
    in_nepali(client)
    page = client.get(LIST).get_data(as_text=True)
    assert '<html lang="ne">' in page
    assert "ड्यासबोर्ड" in page and "परियोजनाहरू" in page
    # A count in a sentence is in Devanagari digits; the table's dates too.
    assert "२ फारामहरू मेल खान्छन्" in page
    dates = re.findall(r'<td class="nowrap"[^>]*>([^<]*)</td>', page)
    assert dates and all(re.search("[०-९]", d) and not re.search("[0-9]", d) for d in dates)
    # Errors read in Nepali as well.
    missing = client.get("/submissions/999999")
    assert missing.status_code == 404 and "भेटिएन" in missing.get_data(as_text=True)


@pytest.fixture
def nepal(db, blobs, world):
    """A Kathmandu supervisor and a Nepal action plan prepared on 2026-10-20 (2083/07/03 BS),
    received at 08:00 UTC (13:45 in Nepal)."""
    from pipeline import accounts
    accounts.create_user(db, "sup_kathmandu", builders.PASSWORD, "supervisor", ["np_district:306"])
    [plan, _followup] = builders.plans()
    outcome = builders.submit(db, plan.xml, {"signature.png": b"png"}, blobs=blobs,
                              submitter="phone-np", received_at=plan.received_at)
    db.commit()
    return outcome.submission.id


PLANS = "/forms/hl_action_plan/submissions"


def test_nepal_rows_read_in_bikram_sambat_and_nepal_time(client, nepal):
    builders.login(client, "sup_kathmandu")
    english = client.get(PLANS).get_data(as_text=True)
    assert "2083/07/03 BS" in english and "Oct 20, 2026" not in english
    page = client.get(f"/submissions/{nepal}").get_data(as_text=True)
    assert "2083/07/03 BS" in page  # the date prepared, an answer
    assert "Received 2083/07/03 BS 1:45\u202fPM" in page  # 08:00 UTC is 13:45 in Kathmandu
    in_nepali(client)
    page = client.get(f"/submissions/{nepal}").get_data(as_text=True)
    assert "२०८३/०७/०३" in page and "प्राप्त मिति २०८३/०७/०३ १३:४५" in page
    listed = client.get(PLANS).get_data(as_text=True)
    assert re.search(r'<td class="nowrap"[^>]*>२०८३/०७/०३</td>', listed)


def test_bangladesh_rows_keep_gregorian_dates(client, world):
    builders.login(client, "sup_rangpur")
    in_nepali(client)
    listed = client.get(LIST).get_data(as_text=True)
    assert "२०२६" in listed and "२०८३" not in listed  # Nepali digits, Gregorian years


@pytest.mark.parametrize(("start", "end", "found"), [
    ("2083/07/01", "2083/07/05", True),
    ("२०८३/०७/०३", "२०८३/०७/०३", True),
    ("2083/07/04", "", False),
    ("", "2083-07-02 BS", False),
    ("2026-10-20", "2026-10-20", True),  # the Gregorian date picker's value still works
])
def test_nepal_pages_filter_on_bikram_sambat_dates(client, nepal, start, end, found):
    builders.login(client, "sup_kathmandu")
    response = client.get(PLANS, query_string={"from": start, "to": end})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert (f'href="/submissions/{nepal}?' in page) is found
    # The Nepal page's date fields take and show BS dates.
    assert f'name="from" value="{"2083/07/0" if start else ""}' in page


def test_a_date_that_is_neither_is_refused_clearly(client, nepal):
    builders.login(client, "sup_kathmandu")
    response = client.get(PLANS, query_string={"from": "2083/13/01"})
    assert response.status_code == 400
    assert "Bikram Sambat" in response.get_data(as_text=True)


def test_nepal_users_see_fiscal_periods_on_the_dashboard_and_downloads(client, nepal):
    from exports.period import Period, current_quarter

    builders.login(client, "sup_kathmandu")
    this = current_quarter(country="np")
    page = client.get("/dashboard").get_data(as_text=True)
    assert f'name="period" value="{this}"' in page
    assert "BS" in page  # the period's days in Bikram Sambat
    page = client.get("/dashboard?period=2083/84-Q2").get_data(as_text=True)
    assert "2083/07/01 BS" in page and "flash-warning" not in page  # from 1 Kartik 2083
    downloads = client.get("/downloads").get_data(as_text=True)
    assert f'value="{this}"' in downloads and "2083/84-Q2" in downloads
    got = client.get("/downloads/export", query_string={
        "area": "np_district:306", "period": "2083/84-Q2", "lang": "ne", "format": "xlsx"})
    assert got.status_code == 200
    assert "2083-84-Q2" in got.headers["Content-Disposition"]
    assert Period.parse("2083/84-Q2").contains(Period.parse("2026-10-20").start)


def test_bangladesh_users_keep_calendar_periods(client, world):
    from exports.period import current_quarter

    builders.login(client, "sup_rangpur")
    page = client.get("/dashboard").get_data(as_text=True)
    assert f'name="period" value="{current_quarter()}"' in page and "/" not in current_quarter()
    assert "2083/84" not in client.get("/downloads").get_data(as_text=True)


def test_a_nepal_deployment_opens_in_nepali_and_keeps_each_persons_choice(app, client, nepal):
    app.config["DEFAULT_LANGUAGE"] = "ne"
    page = client.get("/login", headers={"Accept-Language": "en-US,en"}).get_data(as_text=True)
    assert '<html lang="ne">' in page  # the deployment's language beats an English browser
    builders.login(client, "sup_kathmandu")
    assert '<html lang="ne">' in client.get("/dashboard").get_data(as_text=True)
    token = builders.csrf(client.get("/dashboard").get_data(as_text=True))
    client.post("/language", data={"lang": "en", "csrf_token": token})
    other = app.test_client()
    builders.login(other, "sup_kathmandu")  # a new browser: the person's own choice wins
    assert '<html lang="en">' in other.get("/dashboard").get_data(as_text=True)


def test_a_mistyped_default_language_or_zone_stops_the_start():
    from flask import Flask

    from sync_server.web import i18n

    for config in ({"DEFAULT_LANGUAGE": "np"}, {"TIME_ZONE": "Asia/Katmandu-typo"}):
        bare = Flask(__name__)
        bare.config.update(config)
        with pytest.raises(Exception, match="DEFAULT_LANGUAGE|Katmandu"):
            i18n.init_app(bare)


def test_a_local_level_officer_sees_only_that_palika(client, db, nepal):
    from pipeline import accounts

    accounts.create_user(db, "ll_shankharapur", builders.PASSWORD, "supervisor",
                         ["np_local_level:30601"])
    accounts.create_user(db, "ll_kageshwori", builders.PASSWORD, "supervisor",
                         ["np_local_level:30602"])
    mine = builders.login(client, "ll_shankharapur")
    assert f'href="/submissions/{nepal}?' in mine.get(PLANS).get_data(as_text=True)
    assert mine.get(f"/submissions/{nepal}").status_code == 200
    other = builders.login(client.application.test_client(), "ll_kageshwori")
    assert f'href="/submissions/{nepal}?' not in other.get(PLANS).get_data(as_text=True)
    assert other.get(f"/submissions/{nepal}").status_code == 404
    downloads = other.get("/downloads").get_data(as_text=True)
    assert 'value="np_local_level:30602"' in downloads
    assert other.get("/downloads/export", query_string={
        "area": "np_local_level:30601", "period": "2083/84", "format": "xlsx",
        "lang": "ne"}).status_code == 403


def test_the_people_page_keeps_a_local_level_scope_when_access_is_saved(client, db, nepal):
    """Local levels (753) are given with `sangjog user create --scope np_local_level:…`; the
    People page shows a user's own local level as chosen, so saving their access keeps it."""
    from sqlalchemy import select

    from pipeline import accounts
    from pipeline.models import User

    accounts.create_user(db, "ll_shankharapur", builders.PASSWORD, "supervisor",
                         ["np_local_level:30601"])
    builders.login(client, "admin")
    page = client.get("/admin/users").get_data(as_text=True)
    assert re.search(r'<option value="np_local_level:30601" selected>शंखरापुर नगरपालिका|'
                     r'<option value="np_local_level:30601" selected>Shankharapur Municipality', page)
    saved = client.post("/admin/users/ll_shankharapur/access", data={
        "role": "district_officer", "scope": ["np_local_level:30601"],
        "csrf_token": builders.csrf(page)})
    assert saved.status_code == 302
    user = db.scalar(select(User).where(User.username == "ll_shankharapur"))
    db.refresh(user)
    assert (user.role, user.scope) == ("district_officer", ["np_local_level:30601"])

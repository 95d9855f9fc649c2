"""Ballot tally: who may vote, one ballot per voter, unknown picks, ranks and ties at fifth place."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import scope
from pipeline.access import EVERYWHERE
from pipeline.domain.ballots import (
    ELIGIBLE_ROLES,
    Ballot,
    Nomination,
    count,
    normalise_name,
    tally,
)
from pipeline.review import set_review
from pipeline.storage import BlobStore
from sync_server.cli import cli
from tests import builders

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def noms(upazila: str, *titles: str) -> list[Nomination]:
    return [
        Nomination(key=f"{upazila}-n{i}", upazila=upazila, practice_title=t,
                   union=f"{upazila}11", indicators=(f"indicator of {t}",))
        for i, t in enumerate(titles, 1)
    ]


def ballot(n: int, voter: str, role: str, *picks: str, upazila: str = "302614",
           minutes: int | None = None) -> Ballot:
    at = T0 + timedelta(minutes=n if minutes is None else minutes)
    return Ballot(key=f"b{n}", upazila=upazila, voter_name=voter, voter_role=role,
                  picks=tuple(picks), submitted_at=at)


def votes_of(tally) -> dict[str, int]:
    return {r.nomination.key: r.votes for r in tally.results}


def test_only_elected_roles_count():
    nominations = noms("302614", "Tax fair", "Open budget")
    ballots = [
        ballot(1, "Rahima Begum", "up_chairman", "302614-n1"),
        ballot(2, "Abdul Karim", "up_secretary", "302614-n2"),
        ballot(3, "Kamal Hossain", "uno", "302614-n2"),
        ballot(4, "Nasrin Akter", "up_member_reserved", "302614-n2"),
    ]
    [t] = count(nominations, ballots)
    assert votes_of(t) == {"302614-n1": 1, "302614-n2": 1}
    assert [b.key for b in t.ineligible] == ["b2", "b3"]
    assert t.ballots_counted == 2


def test_second_ballot_of_the_same_voter_is_reported_and_the_earliest_counts():
    nominations = noms("302614", "Tax fair", "Open budget")
    ballots = [
        ballot(2, "Md. Rafiq  Islam", "up_member", "302614-n2", minutes=30),
        ballot(1, "md rafiq islam", "up_member", "302614-n1", minutes=5),
        # Same name, other role: another person (a chairman and a member can share a name).
        ballot(3, "Md Rafiq Islam", "up_chairman", "302614-n2", minutes=40),
    ]
    [t] = count(nominations, ballots)
    assert votes_of(t) == {"302614-n1": 1, "302614-n2": 1}
    assert [(later.key, kept.key) for later, kept in t.duplicates] == [("b2", "b1")]
    assert normalise_name(" MD. Rafiq\tIslam ") == "md rafiq islam"
    assert normalise_name("মোঃ রফিক ইসলাম।") == normalise_name("মোঃ  রফিক ইসলাম")


def test_picks_outside_the_workshop_are_ignored_and_reported():
    here = noms("302614", "Tax fair")
    elsewhere = noms("302633", "School meals")
    ballots = [ballot(1, "Rahima", "mayor", "302614-n1", "302633-n1", "made-up")]
    tallies = {t.upazila: t for t in count(here + elsewhere, ballots)}
    assert votes_of(tallies["302614"]) == {"302614-n1": 1}
    assert votes_of(tallies["302633"]) == {"302633-n1": 0}
    assert [p for _, p in tallies["302614"].unknown_picks] == ["302633-n1", "made-up"]


def test_more_than_five_picks_spoil_the_ballot():
    nominations = noms("302614", *"ABCDEF")
    keys = [n.key for n in nominations]
    [t] = count(nominations, [ballot(1, "Rahima", "councillor", *keys),
                              ballot(2, "Selina", "councillor", keys[0], keys[0])])
    assert [b.key for b in t.spoiled] == ["b1"]
    assert votes_of(t)[keys[0]] == 1  # picked twice on one ballot still counts once


def test_tie_straddling_fifth_place_keeps_all_tied_practices_and_is_flagged():
    nominations = noms("302614", "A", "B", "C", "D", "E", "F", "G")
    k = [n.key for n in nominations]
    # votes: A 4, B 3, C 3, D 2, E 1, F 1, G 0  -> ranks 1 2 2 4 5 5 7
    ballots = [
        ballot(1, "v1", "up_member", k[0], k[1], k[2], k[3], k[4]),
        ballot(2, "v2", "up_member", k[0], k[1], k[2], k[3], k[5]),
        ballot(3, "v3", "up_member", k[0], k[1], k[2]),
        ballot(4, "v4", "up_member", k[0]),
    ]
    [t] = count(nominations, ballots)
    ranks = {r.nomination.practice_title: (r.votes, r.rank, r.tied) for r in t.results}
    assert ranks == {"A": (4, 1, False), "B": (3, 2, True), "C": (3, 2, True), "D": (2, 4, False),
                     "E": (1, 5, True), "F": (1, 5, True), "G": (0, 7, False)}
    assert [r.nomination.practice_title for r in t.top_five] == ["A", "B", "C", "D", "E", "F"]
    assert t.tie_at_cutoff
    assert t.top_five[0].nomination.indicators == ("indicator of A",)


def test_tie_inside_the_top_five_is_not_a_cutoff_tie():
    nominations = noms("302614", "A", "B", "C", "D", "E", "F")
    k = [n.key for n in nominations]
    ballots = [ballot(1, "v1", "mayor", k[0], k[1], k[2], k[3], k[4]),
               ballot(2, "v2", "councillor", k[0])]
    [t] = count(nominations, ballots)
    assert [r.rank for r in t.top_five] == [1, 2, 2, 2, 2]
    assert not t.tie_at_cutoff
    assert t.results[-1].votes == 0 and not t.results[-1].top_five


# ---- property: the tally agrees with an independent count written another way ----

# Each spelling belongs to one person: the test knows who is who without normalising.
PEOPLE = {
    "rahima": ["Rahima Begum", "rahima begum", "RAHIMA  BEGUM", "Rahima Begum."],
    "karim": ["Abdul Karim", "abdul karim "],
    "nasrin": ["Nasrin Akter"],
    "jamal": ["Jamal Uddin", "Jamal Uddin,"],
}
SPELLINGS = [(who, s) for who, spellings in PEOPLE.items() for s in spellings]
ROLES = sorted(ELIGIBLE_ROLES)[:3] + ["up_secretary", "uno", "partner_staff"]
WORKSHOPS = ["302614", "302633"]

ballot_strategy = st.tuples(
    st.sampled_from(WORKSHOPS),
    st.sampled_from(SPELLINGS),
    st.sampled_from(ROLES),
    st.lists(st.sampled_from([f"{w}-n{i}" for w in WORKSHOPS for i in range(1, 8)] + ["zz"]),
             max_size=6),
    st.integers(min_value=0, max_value=50),
)


@settings(max_examples=150, deadline=None)
@given(
    sizes=st.tuples(st.integers(1, 7), st.integers(0, 7)),
    raw_ballots=st.lists(ballot_strategy, max_size=25),
)
def test_tally_matches_an_independent_count(sizes, raw_ballots):
    nominations = [n for w, size in zip(WORKSHOPS, sizes, strict=True)
                   for n in noms(w, *[f"P{i}" for i in range(1, size + 1)])]
    ballots, person_of = [], {}
    for i, (w, (who, spelling), role, picks, minute) in enumerate(raw_ballots):
        b = Ballot(key=f"b{i:03d}", upazila=w, voter_name=spelling, voter_role=role,
                   picks=tuple(picks), submitted_at=T0 + timedelta(minutes=minute))
        ballots.append(b)
        person_of[b.key] = who

    expected_votes: dict[str, int] = {n.key: 0 for n in nominations}
    nominated_in = {n.key: n.upazila for n in nominations}
    expected_dupes = 0
    for w in WORKSHOPS:
        eligible = [b for b in ballots if b.upazila == w and b.voter_role in ELIGIBLE_ROLES]
        first_of: dict[tuple[str, str], Ballot] = {}
        for b in eligible:
            voter = (person_of[b.key], b.voter_role)
            kept = first_of.get(voter)
            if kept is None or (b.submitted_at, b.key) < (kept.submitted_at, kept.key):
                first_of[voter] = b
        expected_dupes += len(eligible) - len(first_of)
        for b in first_of.values():
            if len(set(b.picks)) > 5:
                continue
            for pick in set(b.picks):
                if nominated_in.get(pick) == w:
                    expected_votes[pick] += 1

    tallies = count(nominations, ballots)
    got = {r.nomination.key: r for t in tallies for r in t.results}
    assert {k: r.votes for k, r in got.items()} == expected_votes
    assert sum(len(t.duplicates) for t in tallies) == expected_dupes
    for t in tallies:
        ws = [v for k, v in expected_votes.items() if nominated_in[k] == t.upazila]
        for r in t.results:
            assert r.rank == 1 + len([v for v in ws if v > r.votes])
            assert r.top_five == (r.votes > 0 and r.rank <= 5)
        assert t.tie_at_cutoff == (len([v for v in ws if v > 0 and 1 + len([x for x in ws if x > v]) <= 5]) > 5)


# ---- from the warehouse ----

def test_tally_reads_the_warehouse_and_leaves_out_rejected_ballots(session, runner, tmp_path):
    blobs = BlobStore(tmp_path / "blobs")
    builders.publish(session, "hl_nomination", "hl_ballot")
    place = {"division": "10", "district": "1004", "upazila": "100409"}
    for i, (union, title) in enumerate([("10040913", "Tax fair"), ("10040915", "Open budget")], 1):
        answers = {**place, "union": union, "workshop_date": "2026-03-10", "practice_title": title,
                   "indicators": [{"indicator": f"{title} held"}, {"indicator": "Women attend"}]}
        builders.submit(session, builders.submission("hl_nomination", answers,
                                                     instance_id=f"uuid:nom-{i}"), blobs=blobs)
    cast = [("Rahima Begum", "up_chairman", "nom-1 nom-2"), ("Abdul Karim", "uno", "nom-2"),
            ("rahima begum", "up_chairman", "nom-2"), ("Selina", "up_member", "nom-2 nom-9"),
            ("Jamal", "up_member", "nom-2")]
    subs = [builders.submit(session, builders.submission(
                "hl_ballot", {**place, "voter_name": who, "voter_role": role, "picks": picks}),
                blobs=blobs, received_at=T0 + timedelta(minutes=i)).submission
            for i, (who, role, picks) in enumerate(cast)]
    session.commit()
    set_review(session, [subs[-1].id], "rejected", "Voter was not present", "supervisor")

    [t] = tally(session, upazila="100409")
    assert [(r.nomination.practice_title, r.votes, r.rank) for r in t.results] == [
        ("Open budget", 2, 1), ("Tax fair", 1, 2)]
    assert t.results[0].nomination.indicators == ("Open budget held", "Women attend")
    assert t.results[0].nomination.key == "nom-2" and t.district == "1004"
    assert t.workshop_date == date(2026, 3, 10)
    assert [b.voter_name for b in t.ineligible] == ["Abdul Karim"]
    assert [(a.voter_name, b.voter_name) for a, b in t.duplicates] == [
        ("rahima begum", "Rahima Begum")]
    assert [p for _, p in t.unknown_picks] == ["nom-9"]
    assert tally(session, district="3026") == []
    assert len(tally(session, scope=scope.parse(["bd_division:10"]))) == 1
    assert tally(session, scope=scope.parse(["bd_district:3026"])) == []
    assert tally(session, until=date(2026, 1, 1)) == []

    out = runner.invoke(cli, args=["ballots", "tally", "--upazila", "100409"]).output
    assert "Workshop 100409 (district 1004): 2 ballot(s) counted" in out
    assert " *    1.    2 vote(s)  Open budget  [union 10040915, nom-2]" in out
    assert "Not counted (role 'uno' may not vote): Abdul Karim" in out
    assert "Pick ignored (not nominated at this workshop): nom-9" in out
    empty = runner.invoke(cli, args=["ballots", "tally", "--until", "2026-01-01"]).output
    assert empty == "No nominations or ballots.\n"


# ---- end to end: the real forms, filled by ODK's engine, through ingest ----

_filled: dict[tuple, bytes] = {}


def engine_fill(form_id: str, answers: list, media: dict[str, bytes] | None = None) -> bytes:
    """Fill with ODK's engine once per answers/media (the same on both backends)."""
    from tests import formtools

    key = (form_id, repr(answers), repr(sorted((media or {}).items())))
    if key not in _filled:
        result = formtools.fill(form_id, answers, media)
        assert result.ok, (result.violations, result.errors)
        _filled[key] = result.xml
        _filled[(*key, "options")] = " ".join(result.options.get("/data/picks", [])).encode()
    return _filled[key]


def test_engine_filled_ballots_pick_from_generated_candidates_and_are_tallied(session, tmp_path):
    from pipeline.domain.media import generated_media
    from tests import formtools

    blobs = BlobStore(tmp_path / "blobs")
    formtools.publish_all(session)
    place = [("/data/division", "30"), ("/data/district", "3033"), ("/data/upazila", "303334")]
    keys = []
    for union, title in [("30333417", "Ward shava every quarter"),
                         ("30333415", "One-stop birth registration"),
                         ("30333460", "Open budget meeting")]:
        xml = engine_fill("hl_nomination", [
            *place, ("/data/workshop_date", "2026-11-02"), ("/data/union", union),
            ("/data/practice_title", title), ("/data/practice_description", title),
            ("/data/indicators[1]/indicator", f"{title}: done"),
        ])
        sub = builders.submit(session, xml, blobs=blobs).submission
        keys.append(sub.instance_id.removeprefix("uuid:"))

    candidates = generated_media(session, "ballot_candidates.csv", EVERYWHERE)
    assert candidates.count(b"\n") == 4
    voters = [("Abdul Hamid", "up_chairman", [keys[0], keys[1]]),
              ("Nasrin Akter", "up_member_reserved", [keys[1]]),
              ("abdul hamid", "up_chairman", [keys[2]])]  # a second ballot: reported, not counted
    for i, (who, role, picks) in enumerate(voters):
        xml = engine_fill("hl_ballot", [*place, ("/data/voter_name", who),
                                        ("/data/voter_role", role), ("/data/picks", picks),
                                        ("/data/priority", picks)],
                          {"ballot_candidates.csv": candidates})
        builders.submit(session, xml, blobs=blobs, received_at=T0 + timedelta(minutes=i))
    # The form offered exactly this workshop's nominations, from the generated file.
    offered = next(v for k, v in _filled.items() if k[0] == "hl_ballot" and k[-1] == "options")
    assert sorted(offered.decode().split()) == sorted(keys)

    [t] = tally(session, upazila="303334")
    assert [(r.nomination.practice_title, r.votes, r.rank, r.tied) for r in t.results] == [
        ("One-stop birth registration", 2, 1, False), ("Ward shava every quarter", 1, 2, False),
        ("Open budget meeting", 0, 3, False)]
    assert [r.nomination.indicators for r in t.top_five] == [
        ("One-stop birth registration: done",), ("Ward shava every quarter: done",)]
    assert [(a.voter_name, b.voter_name) for a, b in t.duplicates] == [("abdul hamid", "Abdul Hamid")]
    assert t.results[0].first_preferences == 1

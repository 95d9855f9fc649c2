"""The workshop report a district office prints and files: for one horizontal-learning workshop
(an upazila on one day) the nominated good practices, the ballot results (the top five, ties,
ballots set aside and why) and the Form 1 action plans made there.

``gather`` reads it (the same tally and plan links as the workbook and the web pages, limited to
the reader's area), ``html`` lays it out as a printable A4 page and ``pdf`` renders that page
with WeasyPrint, whose Pango and HarfBuzz shape Bengali and Devanagari (conjuncts, vowel signs);
the fonts are Debian's ``fonts-noto-core`` (tools/system-deps.sh).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

import jinja2
from sqlalchemy.orm import Session

from pipeline import problems
from pipeline import scope as scopes
from pipeline.domain import ballots, followups, tables
from pipeline.domain.places import place

from . import labels, localtime, query, words
from .xlsx import LANGUAGES

# Noto first (fonts-noto-core on the server), then what Windows has for the same scripts.
FONTS = '"Noto Sans", "Noto Sans Bengali", "Noto Sans Devanagari", "Nirmala UI", sans-serif'


@dataclass
class SetAside:
    voter: str
    role: str
    reason: str


@dataclass
class WorkshopReport:
    upazila: str
    day: date
    lang: str
    place: str  # "Kaliganj, Gazipur" in the report's language
    tally: ballots.WorkshopTally
    plans: list[followups.Plan] = field(default_factory=list)
    set_aside: list[SetAside] = field(default_factory=list)


def workshops(session: Session, scope: Iterable[str]) -> list[tuple[str, date]]:
    """Every workshop (upazila, date) with a nomination in ``scope``, latest first."""
    rows = tables.current_rows(session, "hl_nomination", scope=scopes.parse(list(scope)))
    found = {(str(r.get("upazila") or ""), tables.as_date(r.get("workshop_date"))) for r in rows}
    return sorted(((u, d) for u, d in found if u and d), key=lambda w: (w[1], w[0]), reverse=True)


def gather(session: Session, scope: Iterable[str], upazila: str, day: date | str,
           lang: str = "bn") -> WorkshopReport:
    """The report of the workshop held in ``upazila`` on ``day``. A workshop outside ``scope``
    is not found, exactly as one that never took place."""
    if lang not in LANGUAGES:
        raise problems.bad_language(lang)
    if isinstance(day, str):
        try:
            day = date.fromisoformat(day)
        except ValueError:
            raise problems.bad_export_date(day) from None
    user_scope = scopes.parse(list(scope))
    upazila_place = place("bd_upazila", upazila)
    district = upazila_place.parent if upazila_place else ""
    division = district[:2]
    if upazila_place is None or not user_scope.allows({"district": district, "division": division}):
        raise problems.not_found("That workshop")
    found = [t for t in ballots.tally(session, upazila=upazila, since=day, until=day,
                                      scope=user_scope) if t.upazila == upazila]
    plans = [entry.plan for entry in followups.plan_followups(session, upazila=upazila,
                                                              scope=user_scope)
             if entry.plan.date_prepared == day]
    if not found and not plans:
        raise problems.not_found("That workshop")
    tally = found[0] if found else ballots.WorkshopTally(upazila=upazila, district=district)
    district_place = place("bd_district", district)
    names = [upazila_place.name(lang)] + ([district_place.name(lang)] if district_place else [])
    report = WorkshopReport(upazila, day, lang, ", ".join(names), tally,
                            sorted(plans, key=lambda p: (p.union, p.participant_name)))
    roles = role_names(session, lang)
    for reason, found_ballots in (("ineligible", tally.ineligible),
                                  ("duplicate", [later for later, _kept in tally.duplicates]),
                                  ("spoiled", tally.spoiled)):
        report.set_aside += [SetAside(b.voter_name, roles.get(b.voter_role, b.voter_role),
                                      words.word(f"report.reason_{reason}", lang))
                             for b in found_ballots]
    return report


def role_names(session: Session, lang: str) -> dict[str, str]:
    """The ballot form's voter roles (code -> label in ``lang``), for ballots set aside."""
    sel = query.select_form(session, "hl_ballot")
    try:
        choices = sel.schema.main.column("voter_role").choices if sel else None
    except KeyError:
        choices = None
    return {code: labels.pick(names, lang, code) for code, names in (choices or {}).items()}


TEMPLATE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string("""\
<!doctype html>
<html lang="{{ r.lang }}">
<head>
<meta charset="utf-8">
<title>{{ w('report.title') }}: {{ r.place }}, {{ r.day.isoformat() }}</title>
<style>
@page { size: A4; margin: 16mm 14mm 18mm;
        @bottom-center { content: counter(page) " / " counter(pages); font-size: 9pt; } }
body { font-family: {{ fonts|safe }}; font-size: 10.5pt; line-height: 1.45; color: #111; }
h1 { font-size: 17pt; margin: 0 0 2mm; }
h2 { font-size: 13pt; margin: 7mm 0 2mm; border-bottom: 1px solid #999; }
p.meta { margin: 0; color: #333; }
table { width: 100%; border-collapse: collapse; page-break-inside: auto; }
th, td { border: 1px solid #888; padding: 1.2mm 2mm; text-align: left; vertical-align: top; }
th { background: #e8eef6; }
tr { page-break-inside: avoid; }
td.n { text-align: right; white-space: nowrap; }
tr.top td { background: #e2efda; }
.tie { font-weight: bold; color: #8a3b00; }
.note { border: 1px solid #c65911; background: #fce4d6; padding: 2mm; margin: 2mm 0; }
.sign { margin-top: 16mm; border-top: 1px solid #333; width: 80mm; padding-top: 1mm; }
@media screen { body { max-width: 200mm; margin: 8mm auto; } }
</style>
</head>
<body>
<h1>{{ w('report.title') }}</h1>
<p class="meta">{{ w('report.workshop') }} · {{ r.place }}</p>
<p class="meta">{{ w('report.date') }}: {{ r.day.isoformat() }}</p>

<h2>{{ w('report.nominated') }}</h2>
{% if r.tally.results %}
<table>
<thead><tr><th>#</th><th>{{ w('ballot.union') }}</th><th>{{ w('ballot.practice') }}</th>
<th>{{ w('ballot.indicators') }}</th></tr></thead>
<tbody>
{% for res in r.tally.results|sort(attribute='nomination.union') %}
<tr><td class="n">{{ loop.index }}</td><td>{{ union(res.nomination.union) }}</td>
<td>{{ res.nomination.practice_title }}</td><td>{{ res.nomination.indicators|join('; ') }}</td></tr>
{% endfor %}
</tbody></table>
{% else %}<p>{{ w('report.no_nominations') }}</p>{% endif %}

<h2>{{ w('report.results') }}</h2>
<p>{{ w('ballot.ballots') }}: <strong>{{ r.tally.ballots_counted }}</strong></p>
{% if r.tally.tie_at_cutoff %}<p class="note">{{ w('report.tie_note') }}</p>{% endif %}
{% if r.tally.results %}
<table>
<thead><tr><th>{{ w('ballot.rank') }}</th><th>{{ w('ballot.practice') }}</th>
<th>{{ w('ballot.union') }}</th><th>{{ w('ballot.votes') }}</th><th>{{ w('ballot.first') }}</th>
<th>{{ w('ballot.top_five') }}</th><th>{{ w('ballot.tied') }}</th></tr></thead>
<tbody>
{% for res in r.tally.results %}
<tr{% if res.top_five %} class="top"{% endif %}><td class="n">{{ res.rank }}</td>
<td>{{ res.nomination.practice_title }}</td><td>{{ union(res.nomination.union) }}</td>
<td class="n">{{ res.votes }}</td><td class="n">{{ res.first_preferences }}</td>
<td>{% if res.top_five %}{{ yes }}{% endif %}</td>
<td>{% if res.tied %}<span class="tie">{{ yes }}</span>{% endif %}</td></tr>
{% endfor %}
</tbody></table>
{% endif %}

<h2>{{ w('report.set_aside') }}</h2>
{% if r.set_aside %}
<table>
<thead><tr><th>{{ w('report.voter') }}</th><th>{{ w('report.role') }}</th>
<th>{{ w('report.reason') }}</th></tr></thead>
<tbody>
{% for s in r.set_aside %}<tr><td>{{ s.voter }}</td><td>{{ s.role }}</td><td>{{ s.reason }}</td></tr>
{% endfor %}
</tbody></table>
{% else %}<p>{{ w('report.none_set_aside') }}</p>{% endif %}

<h2>{{ w('report.plans') }}</h2>
{% if r.plans %}
<table>
<thead><tr><th>#</th><th>{{ w('plan.participant') }}</th><th>{{ w('plan.position') }}</th>
<th>{{ w('plan.union') }}</th><th>{{ w('plan.practices') }}</th></tr></thead>
<tbody>
{% for p in r.plans %}
<tr><td class="n">{{ loop.index }}</td><td>{{ p.participant_name }}</td><td>{{ p.position }}</td>
<td>{{ union(p.union) }}</td><td>{{ p.practices|join('; ') }}</td></tr>
{% endfor %}
</tbody></table>
{% else %}<p>{{ w('report.no_plans') }}</p>{% endif %}

<p class="sign">{{ w('report.signature') }}</p>
<p class="meta">{{ w('report.generated') }}: {{ generated }}</p>
</body>
</html>
""")


def html(report: WorkshopReport) -> str:
    """The report as one self-contained HTML page, laid out for A4."""
    lang = report.lang
    zone = localtime.COUNTRY_ZONES["bd"]
    now = datetime.now(ZoneInfo(zone))
    return TEMPLATE.render(
        r=report, fonts=FONTS, yes=words.word("yes_no.yes", lang),
        w=lambda key: words.word(key, lang),
        union=lambda code: place("bd_union", code).name(lang) if place("bd_union", code) else code,
        generated=f"{now:%Y-%m-%d %H:%M} ({localtime.zone_label('bd')})",
    )


def pdf(report: WorkshopReport) -> bytes:
    """The report as an A4 PDF with the fonts it uses embedded."""
    import weasyprint  # loads Pango: only when a PDF is asked for

    return weasyprint.HTML(string=html(report)).write_pdf()

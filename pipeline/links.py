"""Public links to fill a form in a browser (``/l/<token>``): made, listed and revoked by an
admin; their submissions and media answer to ``access.form_link`` (one place for every principal).

A link is a door like Collect's: it has no login, so the link itself carries an area (geo codes,
as a web user's scope) and, for a workshop, an upazila and a date. The form's generated media
hold only that area's (and upazila's) rows, a submission outside them is refused, and at most
``per_hour`` submissions a link are taken in any hour, counted in the database so every worker
sees the same count. "Once per device" is left to the browser (a flag the page reads): best
effort, as the docs say.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from xml.sax.saxutils import escape

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from . import problems
from . import scope as scoping
from .db import end_read, write_transaction
from .domain import places
from .models import Form, FormLink, utcnow

WINDOW = timedelta(hours=1)


def create(session: Session, xml_form_id: str, *, by: str, scope: Iterable[str] = (),
           upazila: str | None = None, workshop_date: date | None = None,
           expires_at: datetime | None = None, once_per_device: bool = False) -> FormLink:
    """A new link (committed). A workshop's upazila also sets the link's area to its district,
    so the area rule and the media filter need nothing else."""
    form = session.scalar(select(Form).where(Form.xml_form_id == xml_form_id))
    if form is None:
        raise problems.unknown_form(xml_form_id)
    codes = [scoping.validate(c) for c in scope]
    if upazila:
        found = places.place("bd_upazila", upazila)
        if found is None:
            raise problems.unknown_upazila(upazila)
        if not codes:
            codes = [f"bd_district:{found.parent}"]
    link = FormLink(token=secrets.token_urlsafe(24), form_id=form.id, scope=codes,
                    upazila=upazila or None, workshop_date=workshop_date,
                    expires_at=expires_at, once_per_device=once_per_device, created_by=by,
                    window_count=0)
    end_read(session)
    with write_transaction(session):
        session.add(link)
    return link


def listed(session: Session, *, include_revoked: bool = False) -> list[FormLink]:
    query = select(FormLink).order_by(FormLink.id.desc())
    if not include_revoked:
        query = query.where(FormLink.revoked_at.is_(None))
    return list(session.scalars(query))


def revoke(session: Session, token_or_id: str) -> FormLink:
    link = _find(session, token_or_id)
    if link is None:
        raise problems.not_found(f"Form link '{token_or_id}'")
    if link.revoked_at is None:
        end_read(session)
        with write_transaction(session):
            link.revoked_at = utcnow()
    return link


def usable(session: Session, token: str) -> FormLink:
    """The link behind ``/l/<token>``; 404 when there never was one, 410 when it was revoked or
    has expired (so a participant knows to ask for a new one)."""
    link = session.scalar(select(FormLink).where(FormLink.token == token))
    if link is None:
        raise problems.not_found("This form link")
    if link.revoked_at is not None:
        raise problems.link_gone("was withdrawn")
    if link.expires_at is not None and _aware(link.expires_at) <= utcnow():
        raise problems.link_gone("has expired")
    if link.form.state == "closed":
        raise problems.link_gone("is for a form that no longer takes submissions")
    return link


# A workshop link fills these in for the participant (they can still be changed; the area rule
# refuses another upazila): the place questions, and the date questions of the workshop forms.
DATE_FIELDS = ("workshop_date", "ballot_date", "date_prepared")


def fixed_form(xml: bytes, link: FormLink) -> bytes:
    """The form XML as a workshop link serves it: the primary instance's place and date fields
    start with the workshop's upazila (and its district, division, country) and date. A text
    edit of pyxform's output (empty fields are ``<name/>``; ``default today()`` is a
    ``setvalue``) keeps every namespace prefix exactly as published."""
    values: dict[str, str] = {}
    if link.upazila:
        upazila = places.place("bd_upazila", link.upazila)
        district = places.place("bd_district", upazila.parent) if upazila else None
        values.update(country="bd", upazila=link.upazila)
        if district is not None:
            values.update(district=district.code, division=district.parent)
    if link.workshop_date:
        values.update(dict.fromkeys(DATE_FIELDS, link.workshop_date.isoformat()))
    if not values:
        return xml
    text = xml.decode("utf-8")
    start = text.find("<instance>")
    end = text.find("</instance>", start)
    if start < 0 or end < 0:
        return xml
    root = re.match(r"\s*<([\w.-]+)", text[start + len("<instance>"):end])
    if root is None:
        return xml
    primary = text[start:end]
    changed = []
    for name, value in values.items():
        primary, found = re.subn(rf"<{re.escape(name)}\s*/>",
                                 f"<{name}>{escape(value)}</{name}>", primary, count=1)
        if found:
            changed.append(name)
    text = text[:start] + primary + text[end:]
    for name in changed:  # a first-load default (today()) would overwrite the fixed value
        text = re.sub(rf'<setvalue\b[^>]*\bref="/{re.escape(root.group(1))}/{re.escape(name)}"'
                      r'[^>]*/>', "", text)
    return text.encode("utf-8")


def take_turn(session: Session, link: FormLink, per_hour: int) -> None:
    """Count one submission through ``link``, or raise 429 with ``Retry-After`` when the hour's
    window is full. One UPDATE, so two workers never both take the last turn."""
    now = utcnow()
    start = now - WINDOW
    end_read(session)
    with write_transaction(session):
        taken = session.execute(
            update(FormLink).where(FormLink.id == link.id, (FormLink.window_start.is_(None))
                                   | (FormLink.window_start <= start))
            .values(window_start=now, window_count=1)
            .execution_options(synchronize_session=False)).rowcount
        if not taken:
            taken = session.execute(
                update(FormLink).where(FormLink.id == link.id, FormLink.window_count < per_hour)
                .values(window_count=FormLink.window_count + 1)
                .execution_options(synchronize_session=False)).rowcount
    if not taken:
        started = session.scalar(select(FormLink.window_start).where(FormLink.id == link.id))
        wait = (_aware(started) + WINDOW - now).total_seconds() if started else 60
        raise problems.link_busy(max(1, int(wait)))


def _find(session: Session, token_or_id: str) -> FormLink | None:
    text = str(token_or_id).strip()
    if text.isdigit():
        found = session.get(FormLink, int(text))
        if found is not None:
            return found
    return session.scalar(select(FormLink).where(FormLink.token == text))


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns; they were stored as UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)

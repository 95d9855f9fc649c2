"""Parse one stored submission into the warehouse (placeholder until the warehouse lands)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from .models import Submission


def load(session: Session, submission: Submission) -> None:
    """Does nothing yet: the raw store already holds the submission; parsing comes later."""

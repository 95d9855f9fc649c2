"""Ballot results, action plans with their follow-ups, and innovation projects (placeholder)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from .period import Period
from .sheets import Formats


@dataclass
class Context:
    session: Session
    workbook: Any
    formats: Formats
    taken: set[str]
    lang: str
    scope: Any
    period: Period | None
    selections: dict[str, Any] = field(default_factory=dict)


def write_all(ctx: Context) -> None:
    return None

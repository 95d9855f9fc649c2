"""the search index re-encoded: Bengali and Nepali letters as two ASCII letters each, whose
trigrams tell letters apart (they were ``u09..``, which every Bengali word shares)"""

from alembic import op

from pipeline import search

revision = "0020"
down_revision = "0019"


def _before(text: str) -> str:
    """The encoding before this migration (``search.encode`` until 0019), which a downgrade
    writes back."""
    return "".join(ch if ord(ch) < 128 else f"u{ord(ch):04x}" if ord(ch) <= 0xFFFF
                   else f"v{ord(ch):06x}" for ch in text.casefold())


def upgrade() -> None:
    search.reindex(op.get_bind())


def downgrade() -> None:
    search.reindex(op.get_bind(), encoding=_before)

from sqlalchemy import select

from pipeline.models import Form


def test_app_starts_on_a_migrated_database(app, session):
    assert session.scalars(select(Form)).all() == []
    assert app.config["DATABASE_URL"].split(":")[0] in ("sqlite", "postgresql")

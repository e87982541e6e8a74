"""PostgreSQL as a first-class database: migrations and commands work on a fresh database."""

from __future__ import annotations

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from courses import create_app
from courses.extensions import db
from courses.registration.models import MIGRATION_ONLY_INDEXES, compared
from tests.production.prodkit import flask_cli, prepare, server_database

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
        reason="PostgreSQL checks run in the PostgreSQL pass of `make test` (TEST_DATABASE_URL)",
    ),
]


def test_db_upgrade_on_a_fresh_postgresql_database_gives_exactly_the_models_schema(tmp_path):
    create_app("testing")  # imports every feature's models into the metadata
    with server_database(tmp_path) as url:
        prepare(url, tmp_path)  # `flask db upgrade` and `courses load`, as on a new host
        engine = create_engine(url)
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_object": compared}
            )
            differences = compare_metadata(context, db.metadata)
        tables = set(inspect(engine).get_table_names())
        indexes = {index["name"] for index in inspect(engine).get_indexes("enrollment")}
        engine.dispose()
        assert differences == []
        assert MIGRATION_ONLY_INDEXES <= indexes  # the ones the comparison leaves alone
        assert {"enrollment", "certificate", "outbox_message", "alembic_version"} <= tables
        listed = flask_cli(url, "courses", "list")
        assert listed.returncode == 0 and "prueba-carga" in listed.stdout
        # Running the upgrade again (every deploy does) is a no-op.
        again = flask_cli(url, "db", "upgrade")
        assert again.returncode == 0, again.stderr

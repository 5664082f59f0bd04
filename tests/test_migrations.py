"""The schema comes from Alembic: upgrade, downgrade to nothing and upgrade again, on this engine;
and the migrated schema matches the models (no forgotten migration)."""
import os

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect


def test_models_match_migrations(app):
    from exchange.extensions import db
    with app.app_context():
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
    assert diff == [], f"models and migrations differ — run `flask db migrate`: {diff}"


def test_downgrade_and_upgrade_again(tmp_path, database_url):
    """Run the whole chain down and up on a scratch database of the same engine."""
    import config
    from exchange import create_app
    from flask_migrate import downgrade, upgrade

    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'mig.db'}"
        cleanup = None
    else:
        import psycopg
        admin_url = os.environ.get("EXCHANGE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
        name = "exchange_mig_" + os.urandom(4).hex()
        with psycopg.connect(admin_url, autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        url = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + "/" + name

        def cleanup():
            with psycopg.connect(admin_url, autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    class Cfg(config.TestConfig):
        SQLALCHEMY_DATABASE_URI = url

    try:
        scratch = create_app(Cfg)
        with scratch.app_context():
            upgrade()
            engine = create_engine(url)
            tables = set(inspect(engine).get_table_names())
            assert {"org_unit", "user_account", "party", "audit_entry", "audit_head", "calendar_day"} <= tables
            downgrade(revision="base")
            assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
            upgrade()
            assert {"org_unit", "user_account"} <= set(inspect(engine).get_table_names())
            engine.dispose()
            from exchange.extensions import db
            db.session.remove()
            db.engine.dispose()
    finally:
        if cleanup:
            cleanup()

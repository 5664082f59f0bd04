"""临湘市农村产权流转交易平台.

``create_app`` builds the Flask application: configuration, extensions, the domain blueprints
(one subpackage per domain: orgs, accounts, workdays, audit, api, web), security headers, error
pages and CLI commands.
"""
from __future__ import annotations

import logging

from flask import Flask

from exchange import clock
from exchange import extensions as ext


def create_app(config_object: object | str = "config.Config") -> Flask:
    app = Flask(__name__, template_folder="../templates", static_folder="../static",
                instance_relative_config=False)
    app.config.from_object(config_object)
    app.config.setdefault("MAX_UPLOAD_MB", 20)
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    if app.config.get("TRUSTED_PROXIES"):  # behind nginx: the client's address from X-Forwarded-For (audit, limits)
        from werkzeug.middleware.proxy_fix import ProxyFix
        n = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    from exchange.payments.providers import check_configuration
    check_configuration(app)  # a production deployment refuses to start with the sandbox bank

    if app.config.get("TRAINING_MODE"):
        clock.configure_training(app.config["INSTANCE_DIR"], app.config["TRAINING_SPEED"])

    ext.db.init_app(app)
    ext.migrate.init_app(app, ext.db, directory=str(_migrations_dir()), render_as_batch=True,
                     compare_type=True)
    ext.login_manager.init_app(app)
    ext.csrf.init_app(app)
    # Outside input (before any route exists: the bounded ``int`` converter; before any view: no control characters)
    from exchange import inputs
    inputs.init_app(app)

    # Models must be imported before Alembic or the mappers look at the metadata.
    from exchange import models  # noqa: F401

    from exchange.accounts import views as accounts_views
    from exchange.admin import views as admin_views
    from exchange.api import init_api
    from exchange.supervision import audit_views
    from exchange.incidents import views as incidents_views
    from exchange.ledger import views as ledger_views
    from exchange.listings import views as listings_views
    from exchange.payments import views as payments_views
    from exchange.trading import public_views as publicity_views
    from exchange.trading import views as trading_views
    from exchange.contracts import views as contracts_views
    from exchange.registrations import views as registrations_views
    from exchange.web import security, views as web_views
    from exchange.workdays import views as workdays_views

    app.register_blueprint(web_views.bp)
    app.register_blueprint(accounts_views.bp)
    app.register_blueprint(admin_views.bp)
    app.register_blueprint(workdays_views.bp)
    app.register_blueprint(audit_views.bp)
    app.register_blueprint(listings_views.bp)
    app.register_blueprint(listings_views.public_bp)
    app.register_blueprint(registrations_views.bp)
    app.register_blueprint(ledger_views.bp)
    app.register_blueprint(incidents_views.bp)
    from exchange.incidents import breach_views; app.register_blueprint(breach_views.bp)  # noqa: E702
    app.register_blueprint(payments_views.bp)
    app.register_blueprint(trading_views.bp)
    app.register_blueprint(publicity_views.bp)
    app.register_blueprint(contracts_views.bp)
    from exchange.settlement import views as settlement_views; app.register_blueprint(settlement_views.bp)  # noqa: E702
    from exchange.certificates import views as certificate_views; app.register_blueprint(certificate_views.bp); app.register_blueprint(certificate_views.public_bp)  # noqa: E702,E501
    from exchange.archive import views as archive_views; app.register_blueprint(archive_views.bp)  # noqa: E702
    from exchange.incidents import dispute_views; app.register_blueprint(dispute_views.bp)  # noqa: E702
    from exchange.incidents import mediation_views; app.register_blueprint(mediation_views.bp)  # noqa: E702
    from exchange.incidents import conduct_views; app.register_blueprint(conduct_views.bp)  # noqa: E702
    from exchange.notifications import views as notification_views; app.register_blueprint(notification_views.bp)  # noqa: E702,E501
    from exchange.supervision import views as supervision_views; app.register_blueprint(supervision_views.bp)  # noqa: E702,E501
    from exchange.supervision import alert_views; app.register_blueprint(alert_views.bp)  # noqa: E702
    from exchange.procurement import views as expert_views; app.register_blueprint(expert_views.bp)  # noqa: E702
    from exchange.procurement import project_views; app.register_blueprint(project_views.bp)  # noqa: E702
    from exchange.procurement import panel_views; app.register_blueprint(panel_views.bp)  # noqa: E702
    from exchange.procurement import services as _procurement  # noqa: F401,E402 (its checks and publication hook)
    from exchange.mortgages import services as _mortgages  # noqa: F401,E402 (a mortgaged right is not listed)
    init_api(app)
    from exchange.opendata import views as opendata_views; opendata_views.init_app(app)  # noqa: E702
    from exchange.web import ratelimit; ratelimit.init_app(app)  # noqa: E702 (after every route it limits exists)

    security.init_app(app)
    from exchange.notifications import rules  # noqa: F401,E402  (connects the event rules to the audit trail)
    from exchange.deadlines import recount; recount.init_app(app)  # noqa: E702 (calendar changes move deadlines)

    from exchange import cli
    cli.init_app(app)

    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO)
    if app.config.get("SCHEDULER") and not app.testing and _serving():
        from exchange.deadlines.sweeper import start_in_app
        start_in_app(app)
    return app


def _serving() -> bool:
    """True in a process that serves requests (gunicorn, `flask run`), not in other CLI commands."""
    import os
    import sys
    argv = " ".join(sys.argv)
    if "gunicorn" in argv:
        return True
    if " run" in f" {argv}" and "flask" in argv:
        return os.environ.get("WERKZEUG_RUN_MAIN") in (None, "true")  # the reloader's child, not its parent
    return False


def _migrations_dir():
    from pathlib import Path
    return Path(__file__).resolve().parent.parent / "migrations"

"""The OpenAPI document as schemathesis reads it, shared by the API's fuzzing (tests/test_api_schemathesis.py) and the
tests that check answers against it (tests/test_procurement_api.py)."""
from __future__ import annotations

import schemathesis
from schemathesis.config import SchemathesisConfig

EXAMPLES = 6  # generated requests per operation (valid or not), each sent anonymously and as the administrator
SEED = 20261123

CONFIG = SchemathesisConfig.from_dict({
    "seed": SEED,
    # no generated credentials: each identity sends its own (a made-up session cookie would drop the CSRF token)
    "generation": {"mode": "all", "max-examples": EXAMPLES, "deterministic": True, "database": "none",
                   "with-security-parameters": False, "allow-x00": False},
})


def _document_app():
    import config
    from exchange import create_app

    class _Cfg(config.TestConfig):
        SQLALCHEMY_DATABASE_URI = "sqlite://"  # serving the document needs no database

    return create_app(_Cfg)


schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", _document_app(), config=CONFIG)

"""WSGI entry point: ``gunicorn wsgi:app`` / ``flask --app wsgi …``."""
from exchange import create_app

app = create_app()

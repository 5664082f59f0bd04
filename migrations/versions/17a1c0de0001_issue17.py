"""issue 17 (registrations and payments): placeholder

Revision ID: 17a1c0de0001
Revises: 16d4c0de0004
Create Date: 2026-12-04 20:30:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "17a1c0de0001"
down_revision = "16d4c0de0004"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass

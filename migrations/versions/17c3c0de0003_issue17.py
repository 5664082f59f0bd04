"""issue 17 (staff pages): placeholder

Revision ID: 17c3c0de0003
Revises: 17b2c0de0002
Create Date: 2026-12-04 20:30:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "17c3c0de0003"
down_revision = "17b2c0de0002"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass

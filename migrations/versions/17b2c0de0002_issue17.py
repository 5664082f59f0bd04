"""issue 17 (intake): placeholder

Revision ID: 17b2c0de0002
Revises: 17a1c0de0001
Create Date: 2026-12-04 20:30:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "17b2c0de0002"
down_revision = "17a1c0de0001"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass

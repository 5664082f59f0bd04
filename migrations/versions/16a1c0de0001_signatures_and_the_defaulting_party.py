"""issue 16: the contract in force at the signatures, the party in default

Revision ID: 16a1c0de0001
Revises: 5e1a7c0d9b42
Create Date: 2026-12-04 18:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '16a1c0de0001'
down_revision = '5e1a7c0d9b42'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass

"""issue 16: the center's trading rules (交易规则), named settings with their source

Revision ID: 16b2c0de0002
Revises: 16a1c0de0001
Create Date: 2026-12-04 18:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '16b2c0de0002'
down_revision = '16a1c0de0001'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass

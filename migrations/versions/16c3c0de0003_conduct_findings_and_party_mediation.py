"""issue 16: findings of prohibited conduct (第二十五条), mediation applied for by a party (第二十七条)

Revision ID: 16c3c0de0003
Revises: 16b2c0de0002
Create Date: 2026-12-04 18:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '16c3c0de0003'
down_revision = '16b2c0de0002'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass

"""issue 16: 准予交易证明 for households, the station's opinion, 利用现状, foreign investors

Revision ID: 16d4c0de0004
Revises: 16c3c0de0003
Create Date: 2026-12-04 18:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '16d4c0de0004'
down_revision = '16c3c0de0003'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass

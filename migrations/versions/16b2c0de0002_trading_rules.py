"""issue 16: the center's trading rules (交易规则), named settings with their source

Revision ID: 16b2c0de0002
Revises: 16a1c0de0001
Create Date: 2026-12-04 18:00:00

"""
from alembic import op
import sqlalchemy as sa

import exchange.db  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '16b2c0de0002'
down_revision = '16a1c0de0001'
branch_labels = None
depends_on = None


def upgrade():
    # the value of one of the center's adjustable trading rules once changed from its declared default
    # (exchange/tradingrules/services.py: RULES); no row: the default applies
    op.create_table('trading_rule',
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('value', sa.String(length=20), nullable=False),
    sa.Column('basis', sa.String(length=200), nullable=False),
    sa.Column('changed_by_id', sa.Integer(), nullable=True),
    sa.Column('changed_at', exchange.db.UTCDateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("value <> ''", name=op.f('ck_trading_rule_value_given')),
    sa.CheckConstraint("basis <> ''", name=op.f('ck_trading_rule_basis_given')),
    sa.ForeignKeyConstraint(['changed_by_id'], ['user_account.id'],
                            name=op.f('fk_trading_rule_changed_by_id_user_account')),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_trading_rule'))
    )


def downgrade():
    op.drop_table('trading_rule')

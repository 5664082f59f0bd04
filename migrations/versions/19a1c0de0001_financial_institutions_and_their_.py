"""issue 19: financial institutions (银行, 农商行, 担保公司) as org units under the center, and their officers (role
``lender``, 金融机构客户经理) — 抵押登记与融资, DESIGN §3.13

* ``org_unit.kind`` may be ``lender`` (a financial institution); an institution has its ``institution_type`` (bank / rural_bank /
  guarantee; a CHECK: institutions only, and always) and its ``uscc``;
* ``user_account.role`` may be ``lender``.

Revision ID: 19a1c0de0001
Revises: 18c1c0de0003
Create Date: 2026-12-05 01:06:44.102668

"""
from alembic import op
import sqlalchemy as sa

import exchange.db  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '19a1c0de0001'
down_revision = '18c1c0de0003'
branch_labels = None
depends_on = None

# the roles before this revision (the CHECK as exchange.accounts.models wrote it then)
ROLE_CHECK = ("role IN ('point_clerk', 'station_reviewer', 'center_reviewer', 'trading_officer', 'finance', 'admin', "
              "'supervisor', 'public')")
ROLE_CHECK_NOW = ("role IN ('point_clerk', 'station_reviewer', 'center_reviewer', 'trading_officer', 'finance', "
                  "'admin', 'supervisor', 'lender', 'public')")


def upgrade():
    with op.batch_alter_table('org_unit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('institution_type', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('uscc', sa.String(length=18), nullable=True))
        batch_op.drop_constraint(batch_op.f('ck_org_unit_kind'), type_='check')
        batch_op.create_check_constraint('kind', "kind IN ('center', 'station', 'point', 'lender')")
        batch_op.create_check_constraint('institution_type',
                                         "(kind = 'lender') = (institution_type IS NOT NULL)")
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_user_account_role'), type_='check')
        batch_op.create_check_constraint('role', ROLE_CHECK_NOW)


def downgrade():
    op.execute("DELETE FROM user_account WHERE role = 'lender'")
    op.execute("DELETE FROM org_unit WHERE kind = 'lender'")
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_user_account_role'), type_='check')
        batch_op.create_check_constraint('role', ROLE_CHECK)
    with op.batch_alter_table('org_unit', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_org_unit_institution_type'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_org_unit_kind'), type_='check')
        batch_op.create_check_constraint('kind', "kind IN ('center', 'station', 'point')")
        batch_op.drop_column('uscc')
        batch_op.drop_column('institution_type')

"""issue 17 (registrations and payments): the center's receiving account (户名, 开户行, 账号), shown with the 缴款码

Revision ID: 17a1c0de0001
Revises: 16d4c0de0004
Create Date: 2026-12-04 20:30:00

"""
from alembic import op
import sqlalchemy as sa

import exchange.db  # noqa: F401  (custom column types)

revision = "17a1c0de0001"
down_revision = "16d4c0de0004"
branch_labels = None
depends_on = None


def upgrade():
    # one row per 交易中心 (exchange/payments/models.py: CenterAccount); no row: the pages say it is not published yet
    op.create_table('center_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('account_name', sa.String(length=100), nullable=False),
    sa.Column('bank_name', sa.String(length=100), nullable=False),
    sa.Column('account_no', sa.String(length=40), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', exchange.db.UTCDateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("account_name <> '' AND bank_name <> '' AND account_no <> ''",
                       name=op.f('ck_center_account_complete')),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_unit.id'], name=op.f('fk_center_account_org_unit_id_org_unit')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id'],
                            name=op.f('fk_center_account_updated_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_center_account')),
    sa.UniqueConstraint('org_unit_id', name=op.f('uq_center_account_org_unit_id'))
    )


def downgrade():
    op.drop_table('center_account')

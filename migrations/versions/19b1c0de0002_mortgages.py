"""issue 19: mortgages (抵押登记) and their papers

* ``mortgage``: the right pledged (``right_key`` = category + normalised 权属证书编号; one mortgage holds a right at a
  time — a partial unique index over the holding states), the holder, the institution, the loan asked and decided, the
  center's check and registration, release and disposal;
* ``mortgage_material``: the papers (identity, the right's proof, the 承包方's consent and the 发包方 备案 for a lease,
  a collective's decision, the appraisal, the loan contract, the release, the claim).

Revision ID: 19b1c0de0002
Revises: 19a1c0de0001
Create Date: 2026-12-05 01:08:50.816219

"""
from alembic import op
import sqlalchemy as sa

import exchange.db  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '19b1c0de0002'
down_revision = '19a1c0de0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('mortgage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mortgage_no', sa.String(length=40), nullable=True),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('origin', sa.String(length=8), nullable=False),
    sa.Column('right_key', sa.String(length=80), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('listing_id', sa.Integer(), nullable=True),
    sa.Column('right_cert_no', sa.String(length=60), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('unit', sa.String(length=10), nullable=False),
    sa.Column('right_end_date', sa.Date(), nullable=False),
    sa.Column('obtained_by_lease', sa.Boolean(), nullable=False),
    sa.Column('holder_user_id', sa.Integer(), nullable=True),
    sa.Column('holder_kind', sa.String(length=12), nullable=False),
    sa.Column('holder_name', sa.String(length=100), nullable=False),
    sa.Column('holder_id_no', sa.String(length=18), nullable=False),
    sa.Column('holder_mobile', sa.String(length=11), nullable=False),
    sa.Column('point_id', sa.Integer(), nullable=True),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('amount', exchange.db.Money(precision=16, scale=2), nullable=False),
    sa.Column('loan_start', sa.Date(), nullable=False),
    sa.Column('loan_end', sa.Date(), nullable=False),
    sa.Column('purpose', sa.String(length=300), nullable=False),
    sa.Column('appraisal_value', exchange.db.Money(precision=16, scale=2), nullable=True),
    sa.Column('appraisal_agency', sa.String(length=100), nullable=False),
    sa.Column('loan_contract_no', sa.String(length=60), nullable=False),
    sa.Column('loan_amount', exchange.db.Money(precision=16, scale=2), nullable=True),
    sa.Column('loan_rate', sa.Numeric(precision=7, scale=4), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', exchange.db.UTCDateTime(), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=False),
    sa.Column('checked_by_id', sa.Integer(), nullable=True),
    sa.Column('checked_at', exchange.db.UTCDateTime(), nullable=True),
    sa.Column('registered_by_id', sa.Integer(), nullable=True),
    sa.Column('registered_at', exchange.db.UTCDateTime(), nullable=True),
    sa.Column('released_at', exchange.db.UTCDateTime(), nullable=True),
    sa.Column('disposal_listing_id', sa.Integer(), nullable=True),
    sa.Column('claimed_debt', exchange.db.Money(precision=16, scale=2), nullable=True),
    sa.Column('created_at', exchange.db.UTCDateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("holder_kind IN ('person', 'organisation')", name=op.f('ck_mortgage_holder_kind')),
    sa.CheckConstraint("origin IN ('holder', 'point')", name=op.f('ck_mortgage_origin')),
    sa.CheckConstraint("state IN ('applied', 'checked', 'approved', 'registered', 'released', 'disposing', 'disposed', 'refused', 'rejected', 'withdrawn')", name=op.f('ck_mortgage_state')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_mortgage_amount_positive')),
    sa.CheckConstraint('appraisal_value IS NULL OR appraisal_value > 0', name=op.f('ck_mortgage_appraisal_positive')),
    sa.CheckConstraint('loan_start < loan_end', name=op.f('ck_mortgage_loan_term')),
    sa.ForeignKeyConstraint(['category_id'], ['category.id'], name=op.f('fk_mortgage_category_id_category')),
    sa.ForeignKeyConstraint(['checked_by_id'], ['user_account.id'], name=op.f('fk_mortgage_checked_by_id_user_account')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name=op.f('fk_mortgage_decided_by_id_user_account')),
    sa.ForeignKeyConstraint(['disposal_listing_id'], ['listing.id'], name=op.f('fk_mortgage_disposal_listing_id_listing')),
    sa.ForeignKeyConstraint(['holder_user_id'], ['user_account.id'], name=op.f('fk_mortgage_holder_user_id_user_account')),
    sa.ForeignKeyConstraint(['institution_id'], ['org_unit.id'], name=op.f('fk_mortgage_institution_id_org_unit')),
    sa.ForeignKeyConstraint(['listing_id'], ['listing.id'], name=op.f('fk_mortgage_listing_id_listing')),
    sa.ForeignKeyConstraint(['point_id'], ['org_unit.id'], name=op.f('fk_mortgage_point_id_org_unit')),
    sa.ForeignKeyConstraint(['registered_by_id'], ['user_account.id'], name=op.f('fk_mortgage_registered_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mortgage')),
    sa.UniqueConstraint('mortgage_no', name=op.f('uq_mortgage_mortgage_no'))
    )
    with op.batch_alter_table('mortgage', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mortgage_holder_user_id'), ['holder_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mortgage_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mortgage_listing_id'), ['listing_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mortgage_right_key'), ['right_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_mortgage_state'), ['state'], unique=False)
        batch_op.create_index('uq_mortgage_right_held', ['right_key'], unique=True, sqlite_where=sa.text("state IN ('checked', 'approved', 'registered', 'disposing')"), postgresql_where=sa.text("state IN ('checked', 'approved', 'registered', 'disposing')"))

    op.create_table('mortgage_material',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mortgage_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('filename', sa.String(length=120), nullable=False),
    sa.Column('storage_key', sa.String(length=64), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', exchange.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['mortgage_id'], ['mortgage.id'], name=op.f('fk_mortgage_material_mortgage_id_mortgage')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user_account.id'], name=op.f('fk_mortgage_material_uploaded_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mortgage_material'))
    )
    with op.batch_alter_table('mortgage_material', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mortgage_material_mortgage_id'), ['mortgage_id'], unique=False)



def downgrade():
    with op.batch_alter_table('mortgage_material', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mortgage_material_mortgage_id'))

    op.drop_table('mortgage_material')
    with op.batch_alter_table('mortgage', schema=None) as batch_op:
        batch_op.drop_index('uq_mortgage_right_held', sqlite_where=sa.text("state IN ('checked', 'approved', 'registered', 'disposing')"), postgresql_where=sa.text("state IN ('checked', 'approved', 'registered', 'disposing')"))
        batch_op.drop_index(batch_op.f('ix_mortgage_state'))
        batch_op.drop_index(batch_op.f('ix_mortgage_right_key'))
        batch_op.drop_index(batch_op.f('ix_mortgage_listing_id'))
        batch_op.drop_index(batch_op.f('ix_mortgage_institution_id'))
        batch_op.drop_index(batch_op.f('ix_mortgage_holder_user_id'))

    op.drop_table('mortgage')

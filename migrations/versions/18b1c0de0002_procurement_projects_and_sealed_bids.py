"""issue 18: procurement projects (招标/采购/招商) and their sealed bids

* ``procurement_project``: a listing of 交易品种 8 whose method is 招标, 采购 or 招商 gets its terms here (kind, budget,
  最高限价/最低价, the evaluation method with its criteria and weights, the 开标 time, the project's sealing keys;
  the private key is public from the opening on only — a CHECK);
* ``procurement_bid``: a supplier's sealed bid — the sealed bytes and the receipt only, price and document empty
  until the opening (a CHECK), one standing bid per registration (a partial unique index);
* ``procurement_bid_file``: the documents of a bid, sealed the same way;
* ``deal.method`` may be ``procurement`` (a deal concluded by a procurement's evaluation).

Revision ID: 18b1c0de0002
Revises: 18a1c0de0001
Create Date: 2026-12-04 23:31:07.116001

"""
from alembic import op
import sqlalchemy as sa

import exchange.db  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '18b1c0de0002'
down_revision = '18a1c0de0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('procurement_bid',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('listing_id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('sealed', sa.LargeBinary(), nullable=False),
    sa.Column('receipt', sa.String(length=64), nullable=False),
    sa.Column('submitted_at', exchange.db.UTCDateTime(), nullable=False),
    sa.Column('withdrawn_at', exchange.db.UTCDateTime(), nullable=True),
    sa.Column('opened_at', exchange.db.UTCDateTime(), nullable=True),
    sa.Column('price', exchange.db.Money(precision=16, scale=2), nullable=True),
    sa.Column('document', sa.Text(), nullable=True),
    sa.Column('invalid_reason', sa.Text(), nullable=False),
    sa.Column('invalid_by_id', sa.Integer(), nullable=True),
    sa.Column('invalid_at', exchange.db.UTCDateTime(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("state = 'opened' OR (price IS NULL AND document IS NULL)", name=op.f('ck_procurement_bid_sealed_unread')),
    sa.CheckConstraint("state IN ('sealed', 'withdrawn', 'opened')", name=op.f('ck_procurement_bid_state')),
    sa.CheckConstraint('price IS NULL OR price > 0', name=op.f('ck_procurement_bid_price_positive')),
    sa.ForeignKeyConstraint(['invalid_by_id'], ['user_account.id'], name=op.f('fk_procurement_bid_invalid_by_id_user_account')),
    sa.ForeignKeyConstraint(['listing_id'], ['listing.id'], name=op.f('fk_procurement_bid_listing_id_listing')),
    sa.ForeignKeyConstraint(['registration_id'], ['registration.id'], name=op.f('fk_procurement_bid_registration_id_registration')),
    sa.ForeignKeyConstraint(['supplier_id'], ['user_account.id'], name=op.f('fk_procurement_bid_supplier_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_procurement_bid'))
    )
    with op.batch_alter_table('procurement_bid', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_procurement_bid_listing_id'), ['listing_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_procurement_bid_registration_id'), ['registration_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_procurement_bid_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_procurement_bid_supplier_id'), ['supplier_id'], unique=False)
        batch_op.create_index('uq_procurement_bid_standing', ['registration_id'], unique=True, sqlite_where=sa.text("state IN ('sealed', 'opened')"), postgresql_where=sa.text("state IN ('sealed', 'opened')"))

    op.create_table('procurement_project',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('listing_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('budget', exchange.db.Money(precision=16, scale=2), nullable=True),
    sa.Column('limit_price', exchange.db.Money(precision=16, scale=2), nullable=True),
    sa.Column('eval_kind', sa.String(length=14), nullable=False),
    sa.Column('direction', sa.String(length=6), nullable=False),
    sa.Column('price_weight', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('criteria_json', sa.Text(), nullable=False),
    sa.Column('trim_extremes', sa.Boolean(), nullable=False),
    sa.Column('specialty', sa.String(length=20), nullable=False),
    sa.Column('panel_size', sa.Integer(), nullable=False),
    sa.Column('scope', sa.Text(), nullable=False),
    sa.Column('requirements', sa.Text(), nullable=False),
    sa.Column('opens_at', exchange.db.UTCDateTime(), nullable=True),
    sa.Column('public_key', sa.LargeBinary(), nullable=True),
    sa.Column('wrapped_key', sa.LargeBinary(), nullable=True),
    sa.Column('opened_key', sa.LargeBinary(), nullable=True),
    sa.Column('opened_at', exchange.db.UTCDateTime(), nullable=True),
    sa.Column('evaluated_at', exchange.db.UTCDateTime(), nullable=True),
    sa.Column('outcome_json', sa.Text(), nullable=False),
    sa.Column('winner_registration_id', sa.Integer(), nullable=True),
    sa.Column('awarded_at', exchange.db.UTCDateTime(), nullable=True),
    sa.Column('awarded_by_id', sa.Integer(), nullable=True),
    sa.Column('award_reason', sa.Text(), nullable=False),
    sa.Column('award_approved_by_id', sa.Integer(), nullable=True),
    sa.Column('notice_no', sa.String(length=30), nullable=True),
    sa.Column('created_at', exchange.db.UTCDateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("direction IN ('lower', 'higher')", name=op.f('ck_procurement_project_direction')),
    sa.CheckConstraint("eval_kind IN ('lowest_price', 'scored')", name=op.f('ck_procurement_project_eval_kind')),
    sa.CheckConstraint("kind IN ('', 'works', 'goods', 'services')", name=op.f('ck_procurement_project_kind')),
    sa.CheckConstraint("state IN ('bidding', 'opened', 'evaluated', 'awarded', 'failed', 'cancelled')", name=op.f('ck_procurement_project_state')),
    sa.CheckConstraint("state NOT IN ('opened', 'evaluated', 'awarded') OR opened_key IS NOT NULL", name=op.f('ck_procurement_project_opened_has_key')),
    sa.CheckConstraint('budget IS NULL OR budget > 0', name=op.f('ck_procurement_project_budget_positive')),
    sa.CheckConstraint('limit_price IS NULL OR limit_price > 0', name=op.f('ck_procurement_project_limit_positive')),
    sa.CheckConstraint('opened_key IS NULL OR opened_at IS NOT NULL', name=op.f('ck_procurement_project_key_after_opening')),
    sa.CheckConstraint('panel_size IN (3, 5, 7, 9)', name=op.f('ck_procurement_project_panel_size')),
    sa.CheckConstraint('price_weight >= 0 AND price_weight <= 100', name=op.f('ck_procurement_project_price_weight')),
    sa.ForeignKeyConstraint(['award_approved_by_id'], ['user_account.id'], name=op.f('fk_procurement_project_award_approved_by_id_user_account')),
    sa.ForeignKeyConstraint(['awarded_by_id'], ['user_account.id'], name=op.f('fk_procurement_project_awarded_by_id_user_account')),
    sa.ForeignKeyConstraint(['listing_id'], ['listing.id'], name=op.f('fk_procurement_project_listing_id_listing')),
    sa.ForeignKeyConstraint(['winner_registration_id'], ['registration.id'], name=op.f('fk_procurement_project_winner_registration_id_registration')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_procurement_project')),
    sa.UniqueConstraint('listing_id', name=op.f('uq_procurement_project_listing_id')),
    sa.UniqueConstraint('notice_no', name=op.f('uq_procurement_project_notice_no'))
    )
    with op.batch_alter_table('procurement_project', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_procurement_project_opens_at'), ['opens_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_procurement_project_state'), ['state'], unique=False)

    op.create_table('procurement_bid_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bid_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('sealed_key', sa.String(length=64), nullable=False),
    sa.Column('open_key', sa.String(length=64), nullable=True),
    sa.Column('filename', sa.String(length=120), nullable=True),
    sa.Column('content_type', sa.String(length=40), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['bid_id'], ['procurement_bid.id'], name=op.f('fk_procurement_bid_file_bid_id_procurement_bid')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_procurement_bid_file')),
    sa.UniqueConstraint('bid_id', 'seq', name=op.f('uq_procurement_bid_file_bid_id_seq'))
    )
    with op.batch_alter_table('procurement_bid_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_procurement_bid_file_bid_id'), ['bid_id'], unique=False)

    with op.batch_alter_table('deal', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_deal_method'), type_='check')
        batch_op.create_check_constraint(
            'method', "method IN ('agreement', 'online_bidding', 'sealed_bid', 'auction', 'tender', 'procurement')")


def downgrade():
    with op.batch_alter_table('deal', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_deal_method'), type_='check')
        batch_op.create_check_constraint(
            'method', "method IN ('agreement', 'online_bidding', 'sealed_bid', 'auction', 'tender')")
    with op.batch_alter_table('procurement_bid_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_procurement_bid_file_bid_id'))

    op.drop_table('procurement_bid_file')
    with op.batch_alter_table('procurement_project', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_procurement_project_state'))
        batch_op.drop_index(batch_op.f('ix_procurement_project_opens_at'))

    op.drop_table('procurement_project')
    with op.batch_alter_table('procurement_bid', schema=None) as batch_op:
        batch_op.drop_index('uq_procurement_bid_standing', sqlite_where=sa.text("state IN ('sealed', 'opened')"), postgresql_where=sa.text("state IN ('sealed', 'opened')"))
        batch_op.drop_index(batch_op.f('ix_procurement_bid_supplier_id'))
        batch_op.drop_index(batch_op.f('ix_procurement_bid_state'))
        batch_op.drop_index(batch_op.f('ix_procurement_bid_registration_id'))
        batch_op.drop_index(batch_op.f('ix_procurement_bid_listing_id'))

    op.drop_table('procurement_bid')

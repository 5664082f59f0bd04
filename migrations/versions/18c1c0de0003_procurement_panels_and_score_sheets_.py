"""issue 18: the evaluation panel (评标委员会) drawn for a procurement project, its members' score sheets, and the
interest paid with a refunded 投标保证金

* ``procurement_panel``: the draw as recorded (specialty, size, eligible experts, the excluded with why, the seed);
* ``procurement_panel_member``: an expert on the panel, the token of the link and the hash of the password with
  which the expert opens and signs the score sheet on a phone; the signed sheet's digest;
* ``procurement_score``: a member's score of a bid on a criterion;
* ``refund.interest``: the bank's deposit interest paid with a procurement bond (招标投标法实施条例 第五十七条).

Revision ID: 18c1c0de0003
Revises: 18b1c0de0002
Create Date: 2026-12-04 23:38:55.797558

"""
from alembic import op
import sqlalchemy as sa

import exchange.db  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '18c1c0de0003'
down_revision = '18b1c0de0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('procurement_panel',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('listing_id', sa.Integer(), nullable=False),
    sa.Column('specialty', sa.String(length=20), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('seed', sa.String(length=64), nullable=False),
    sa.Column('eligible_json', sa.Text(), nullable=False),
    sa.Column('excluded_json', sa.Text(), nullable=False),
    sa.Column('drawn_at', exchange.db.UTCDateTime(), nullable=False),
    sa.Column('drawn_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['drawn_by_id'], ['user_account.id'], name=op.f('fk_procurement_panel_drawn_by_id_user_account')),
    sa.ForeignKeyConstraint(['listing_id'], ['listing.id'], name=op.f('fk_procurement_panel_listing_id_listing')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_procurement_panel')),
    sa.UniqueConstraint('listing_id', name=op.f('uq_procurement_panel_listing_id'))
    )
    op.create_table('procurement_panel_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('panel_id', sa.Integer(), nullable=False),
    sa.Column('expert_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('signed_at', exchange.db.UTCDateTime(), nullable=True),
    sa.Column('sheet_digest', sa.String(length=64), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['expert_id'], ['expert.id'], name=op.f('fk_procurement_panel_member_expert_id_expert')),
    sa.ForeignKeyConstraint(['panel_id'], ['procurement_panel.id'], name=op.f('fk_procurement_panel_member_panel_id_procurement_panel')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_procurement_panel_member')),
    sa.UniqueConstraint('panel_id', 'expert_id', name=op.f('uq_procurement_panel_member_panel_id_expert_id')),
    sa.UniqueConstraint('panel_id', 'seq', name=op.f('uq_procurement_panel_member_panel_id_seq')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_procurement_panel_member_token_hash'))
    )
    with op.batch_alter_table('procurement_panel_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_procurement_panel_member_expert_id'), ['expert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_procurement_panel_member_panel_id'), ['panel_id'], unique=False)

    op.create_table('procurement_score',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('bid_id', sa.Integer(), nullable=False),
    sa.Column('criterion', sa.String(length=10), nullable=False),
    sa.Column('score', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.CheckConstraint('score >= 0 AND score <= 100', name=op.f('ck_procurement_score_score_range')),
    sa.ForeignKeyConstraint(['bid_id'], ['procurement_bid.id'], name=op.f('fk_procurement_score_bid_id_procurement_bid')),
    sa.ForeignKeyConstraint(['member_id'], ['procurement_panel_member.id'], name=op.f('fk_procurement_score_member_id_procurement_panel_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_procurement_score')),
    sa.UniqueConstraint('member_id', 'bid_id', 'criterion', name=op.f('uq_procurement_score_member_id_bid_id_criterion'))
    )
    with op.batch_alter_table('procurement_score', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_procurement_score_bid_id'), ['bid_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_procurement_score_member_id'), ['member_id'], unique=False)

    with op.batch_alter_table('refund', schema=None) as batch_op:
        batch_op.add_column(sa.Column('interest', exchange.db.Money(precision=16, scale=2), server_default='0', nullable=False))



def downgrade():
    with op.batch_alter_table('refund', schema=None) as batch_op:
        batch_op.drop_column('interest')

    with op.batch_alter_table('procurement_score', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_procurement_score_member_id'))
        batch_op.drop_index(batch_op.f('ix_procurement_score_bid_id'))

    op.drop_table('procurement_score')
    with op.batch_alter_table('procurement_panel_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_procurement_panel_member_panel_id'))
        batch_op.drop_index(batch_op.f('ix_procurement_panel_member_expert_id'))

    op.drop_table('procurement_panel_member')
    op.drop_table('procurement_panel')

"""issue 16: the contract in force at the signatures, the party in default, 不可抗力 claims

第十六条 (DESIGN §3.11): a contract is in force once both parties have signed; the center's check of the scan belongs
to 鉴证.  The contract's states become draft → signed → uploaded → checked (void): 'confirmed' (both signed, no
scan) is 'signed', 'effective' (scan approved) is 'checked'; a contract both parties had signed but the center had
not approved ('confirmed' / 'uploaded') is in force from its last signature — numbered, and its listing moved on to
结算 (the sweeper's settlements.open_missing opens its settlement, due 10 days after that signature).
第十六条 also: the 签约 clock starts when 交易公示 ends, so a deal still in publicity forgets the due date computed
at its conclusion (the end of its publicity stores the right one).
第二十二条: default_case.party (buyer / seller / both), default_case.dispute_id (the damages claim), and
force_majeure_claim.  第二十四条: payout 'cancelled' (a termination during 结算).  第二十一条:
listing.account_holder_id_no.

Revision ID: 16a1c0de0001
Revises: 5e1a7c0d9b42
Create Date: 2026-12-04 18:00:00

"""
from datetime import datetime, timedelta, timezone

from alembic import op
import sqlalchemy as sa

import exchange.db


# revision identifiers, used by Alembic.
revision = '16a1c0de0001'
down_revision = '5e1a7c0d9b42'
branch_labels = None
depends_on = None

BEIJING = timezone(timedelta(hours=8))


def _aware(value):
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _next_number(conn, year: int) -> int:
    n = conn.execute(sa.text("UPDATE project_counter SET last_no = last_no + 1 WHERE kind = 'contract' AND year = :y "
                             "RETURNING last_no"), {"y": year}).scalar()
    if n is None:
        conn.execute(sa.text("INSERT INTO project_counter (kind, year, last_no) VALUES ('contract', :y, 1)"),
                     {"y": year})
        n = 1
    return n


def upgrade():
    conn = op.get_bind()
    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_contract_state'), type_='check')
    # in force by the new reading: both signed, not yet approved by the center
    rows = conn.execute(sa.text(
        "SELECT id, listing_id, state, buyer_confirmed_at, seller_confirmed_at FROM contract "
        "WHERE state IN ('confirmed', 'uploaded') AND effective_at IS NULL ORDER BY id")).fetchall()
    for cid, listing_id, state, buyer_at, seller_at in rows:
        at = max(_aware(buyer_at), _aware(seller_at))
        local = at.astimezone(BEIJING)
        no = f"临农交合〔{local.year}〕第{_next_number(conn, local.year):06d}号"
        conn.execute(sa.text("UPDATE contract SET effective_at = :at, signed_on = :on, contract_no = :no "
                             "WHERE id = :id"), {"at": at.astimezone(timezone.utc).replace(tzinfo=None),
                                                 "on": local.date(), "no": no, "id": cid})
        conn.execute(sa.text("UPDATE listing SET state = 'settlement' WHERE id = :id AND state = 'contract'"),
                     {"id": listing_id})
    conn.execute(sa.text("UPDATE contract SET state = 'signed' WHERE state = 'confirmed'"))
    conn.execute(sa.text("UPDATE contract SET state = 'checked' WHERE state = 'effective'"))
    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.create_check_constraint('state', "state IN ('draft', 'signed', 'uploaded', 'checked', 'void')")
    conn.execute(sa.text("UPDATE deal SET contract_due_at = NULL WHERE state IN ('publicity', 'suspended')"))
    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seller_signature_key', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('seller_signature_filename', sa.String(length=120), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('seller_signature_content_type', sa.String(length=40), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('seller_signature_sha256', sa.String(length=64), server_default='',
                                      nullable=False))

    # 第二十四条 until the 鉴证书: a payout nobody recorded yet is cancelled by a termination
    with op.batch_alter_table('payout', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_payout_state'), type_='check')
        batch_op.create_check_constraint('state', "state IN ('pending', 'recorded', 'approved', 'cancelled')")
    # 第二十一条: the ID number / USCC the proceeds' account is opened under (blank: the transferor's own)
    with op.batch_alter_table('listing', schema=None) as batch_op:
        batch_op.add_column(sa.Column('account_holder_id_no', sa.String(length=18), server_default='', nullable=False))

    with op.batch_alter_table('default_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('party', sa.String(length=10), server_default='buyer', nullable=False))
        batch_op.add_column(sa.Column('dispute_id', sa.Integer(), nullable=True))
        batch_op.create_check_constraint('party', "party IN ('buyer', 'seller', 'both')")
        batch_op.create_foreign_key(batch_op.f('fk_default_case_dispute_id_dispute'), 'dispute', ['dispute_id'], ['id'])

    op.create_table('force_majeure_claim',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('listing_id', sa.Integer(), nullable=False),
    sa.Column('deal_id', sa.Integer(), nullable=False),
    sa.Column('side', sa.String(length=10), nullable=False),
    sa.Column('stage', sa.String(length=10), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('facts', sa.Text(), nullable=False),
    sa.Column('document_key', sa.String(length=64), nullable=False),
    sa.Column('document_filename', sa.String(length=120), nullable=False),
    sa.Column('document_content_type', sa.String(length=40), nullable=False),
    sa.Column('document_sha256', sa.String(length=64), nullable=False),
    sa.Column('filed_by_id', sa.Integer(), nullable=False),
    sa.Column('filed_at', exchange.db.UTCDateTime(), nullable=False),
    sa.Column('decision', sa.Text(), nullable=False),
    sa.Column('extend_days', sa.Integer(), nullable=False),
    sa.Column('due_before', exchange.db.UTCDateTime(), nullable=True),
    sa.Column('due_after', exchange.db.UTCDateTime(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', exchange.db.UTCDateTime(), nullable=True),
    sa.CheckConstraint("state IN ('pending', 'accepted', 'rejected')", name=op.f('ck_force_majeure_claim_state')),
    sa.CheckConstraint("side IN ('seller', 'buyer')", name=op.f('ck_force_majeure_claim_side')),
    sa.CheckConstraint("stage IN ('contract', 'settlement')", name=op.f('ck_force_majeure_claim_stage')),
    sa.ForeignKeyConstraint(['listing_id'], ['listing.id'], name=op.f('fk_force_majeure_claim_listing_id_listing')),
    sa.ForeignKeyConstraint(['deal_id'], ['deal.id'], name=op.f('fk_force_majeure_claim_deal_id_deal')),
    sa.ForeignKeyConstraint(['filed_by_id'], ['user_account.id'], name=op.f('fk_force_majeure_claim_filed_by_id_user_account')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name=op.f('fk_force_majeure_claim_decided_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_force_majeure_claim'))
    )
    with op.batch_alter_table('force_majeure_claim', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_force_majeure_claim_listing_id'), ['listing_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_force_majeure_claim_deal_id'), ['deal_id'], unique=False)
        batch_op.create_index('uq_force_majeure_pending_deal', ['deal_id'], unique=True,
                              sqlite_where=sa.text("state = 'pending'"), postgresql_where=sa.text("state = 'pending'"))


def downgrade():
    with op.batch_alter_table('force_majeure_claim', schema=None) as batch_op:
        batch_op.drop_index('uq_force_majeure_pending_deal', sqlite_where=sa.text("state = 'pending'"),
                            postgresql_where=sa.text("state = 'pending'"))
        batch_op.drop_index(batch_op.f('ix_force_majeure_claim_deal_id'))
        batch_op.drop_index(batch_op.f('ix_force_majeure_claim_listing_id'))
    op.drop_table('force_majeure_claim')
    with op.batch_alter_table('default_case', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_default_case_dispute_id_dispute'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('ck_default_case_party'), type_='check')
        batch_op.drop_column('dispute_id')
        batch_op.drop_column('party')
    with op.batch_alter_table('listing', schema=None) as batch_op:
        batch_op.drop_column('account_holder_id_no')
    with op.batch_alter_table('payout', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_payout_state'), type_='check')
        batch_op.create_check_constraint('state', "state IN ('pending', 'recorded', 'approved')")
    with op.batch_alter_table('contract', schema=None) as batch_op:
        for column in ('seller_signature_sha256', 'seller_signature_content_type', 'seller_signature_filename',
                       'seller_signature_key'):
            batch_op.drop_column(column)
    # the contracts keep their effect; only the names go back ('signed' had no scan: 'confirmed')
    conn = op.get_bind()
    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_contract_state'), type_='check')
    conn.execute(sa.text("UPDATE contract SET state = 'effective' WHERE state IN ('checked', 'signed', 'uploaded') "
                         "AND effective_at IS NOT NULL"))
    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.create_check_constraint('state', "state IN ('draft', 'confirmed', 'uploaded', 'effective', 'void')")

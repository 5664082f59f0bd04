"""issue 16: findings of prohibited conduct (第二十五条), mediation applied for by a party (第二十七条)

* ``conduct_finding``: the center's finding of a prohibited act against a participant of a listing (ground, facts,
  evidence, the warning that prompted it, what became of the voiding, the refund, the ban);
* ``registration_ban``: 禁止报名 for a period, kept by the registrations (by account and identity number);
* ``registration.state`` gains ``disqualified`` (取消资格);
* ``dispute``: a party's online application (its account and side, what it asks, its evidence, who accepted it and
  when), the states ``applied`` (待受理, now the first) and ``declined`` (不予受理), one application in hand per party
  and listing.

Revision ID: 16c3c0de0003
Revises: 16b2c0de0002
Create Date: 2026-12-04 18:00:00

"""
from alembic import op
import sqlalchemy as sa

import exchange.db


# revision identifiers, used by Alembic.
revision = '16c3c0de0003'
down_revision = '16b2c0de0002'
branch_labels = None
depends_on = None

REG_STATES_BEFORE = "state IN ('applied', 'qualified', 'rejected', 'paid', 'abandoned')"
REG_STATES = "state IN ('applied', 'qualified', 'rejected', 'paid', 'abandoned', 'disqualified')"
DISPUTE_STATES_BEFORE = "state IN ('open', 'settled', 'failed', 'withdrawn')"
DISPUTE_STATES = "state IN ('applied', 'open', 'settled', 'failed', 'withdrawn', 'declined')"
ACTIVE = "state IN ('applied', 'open')"


def upgrade():
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_registration_state'), type_='check')
        batch_op.create_check_constraint('state', REG_STATES)

    op.create_table('registration_ban',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('ident', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('starts_at', exchange.db.UTCDateTime(), nullable=False),
    sa.Column('ends_at', exchange.db.UTCDateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', exchange.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_registration_ban_period')),
    sa.CheckConstraint("user_id IS NOT NULL OR ident <> ''", name=op.f('ck_registration_ban_who')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'],
                            name=op.f('fk_registration_ban_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_registration_ban_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registration_ban'))
    )
    with op.batch_alter_table('registration_ban', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registration_ban_ends_at'), ['ends_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_registration_ban_ident'), ['ident'], unique=False)
        batch_op.create_index(batch_op.f('ix_registration_ban_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('dispute', schema=None) as batch_op:
        batch_op.add_column(sa.Column('applicant_user_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('applicant_side', sa.String(length=10), server_default='', nullable=False))
        batch_op.add_column(sa.Column('requests', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('evidence_key', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('evidence_filename', sa.String(length=120), server_default='', nullable=False))
        batch_op.add_column(sa.Column('evidence_content_type', sa.String(length=40), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('evidence_sha256', sa.String(length=64), server_default='', nullable=False))
        batch_op.add_column(sa.Column('accepted_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('accepted_at', exchange.db.UTCDateTime(), nullable=True))
        batch_op.drop_constraint(batch_op.f('ck_dispute_state'), type_='check')
        batch_op.create_check_constraint('state', DISPUTE_STATES)
        batch_op.create_check_constraint('applicant_side', "applicant_side IN ('', 'transferor', 'buyer')")
        batch_op.create_foreign_key(batch_op.f('fk_dispute_applicant_user_id_user_account'), 'user_account',
                                    ['applicant_user_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_dispute_accepted_by_id_user_account'), 'user_account',
                                    ['accepted_by_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_dispute_applicant_user_id'), ['applicant_user_id'], unique=False)
        batch_op.create_index('uq_dispute_active_application', ['listing_id', 'applicant_user_id'], unique=True,
                              sqlite_where=sa.text(ACTIVE), postgresql_where=sa.text(ACTIVE))
    # the records so far were registered by the center, accepted at once
    op.execute("UPDATE dispute SET accepted_by_id = opened_by_id, accepted_at = opened_at")

    op.create_table('conduct_finding',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('listing_id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.Column('side', sa.String(length=10), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('subject_name', sa.String(length=100), nullable=False),
    sa.Column('subject_ident', sa.String(length=18), nullable=False),
    sa.Column('ground', sa.String(length=10), nullable=False),
    sa.Column('facts', sa.Text(), nullable=False),
    sa.Column('evidence_key', sa.String(length=64), nullable=False),
    sa.Column('evidence_filename', sa.String(length=120), nullable=False),
    sa.Column('evidence_content_type', sa.String(length=40), nullable=False),
    sa.Column('evidence_sha256', sa.String(length=64), nullable=False),
    sa.Column('void_requested', sa.Boolean(), nullable=False),
    sa.Column('void_outcome', sa.String(length=12), nullable=False),
    sa.Column('refund_id', sa.Integer(), nullable=True),
    sa.Column('ban_days', sa.Integer(), nullable=False),
    sa.Column('ban_id', sa.Integer(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=False),
    sa.Column('decided_at', exchange.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint("ground IN ('order', 'fairness', 'law')", name=op.f('ck_conduct_finding_ground')),
    sa.CheckConstraint("side IN ('buyer', 'transferor')", name=op.f('ck_conduct_finding_side')),
    sa.CheckConstraint('ban_days >= 0 AND ban_days <= 3650', name=op.f('ck_conduct_finding_ban_days')),
    sa.CheckConstraint("void_outcome IN ('', 'voided', 'deal_buyer', 'after_deal', 'not_live', 'transferor')",
                       name=op.f('ck_conduct_finding_void_outcome')),
    sa.CheckConstraint("side = 'transferor' OR registration_id IS NOT NULL",
                       name=op.f('ck_conduct_finding_buyer_registration')),
    sa.ForeignKeyConstraint(['alert_id'], ['supervision_alert.id'],
                            name=op.f('fk_conduct_finding_alert_id_supervision_alert')),
    sa.ForeignKeyConstraint(['ban_id'], ['registration_ban.id'],
                            name=op.f('fk_conduct_finding_ban_id_registration_ban')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'],
                            name=op.f('fk_conduct_finding_decided_by_id_user_account')),
    sa.ForeignKeyConstraint(['listing_id'], ['listing.id'], name=op.f('fk_conduct_finding_listing_id_listing')),
    sa.ForeignKeyConstraint(['refund_id'], ['refund.id'], name=op.f('fk_conduct_finding_refund_id_refund')),
    sa.ForeignKeyConstraint(['registration_id'], ['registration.id'],
                            name=op.f('fk_conduct_finding_registration_id_registration')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_conduct_finding_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conduct_finding'))
    )
    with op.batch_alter_table('conduct_finding', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conduct_finding_alert_id'), ['alert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_conduct_finding_listing_id'), ['listing_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_conduct_finding_registration_id'), ['registration_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_conduct_finding_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('conduct_finding', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conduct_finding_user_id'))
        batch_op.drop_index(batch_op.f('ix_conduct_finding_registration_id'))
        batch_op.drop_index(batch_op.f('ix_conduct_finding_listing_id'))
        batch_op.drop_index(batch_op.f('ix_conduct_finding_alert_id'))
    op.drop_table('conduct_finding')

    # an application still waiting or declined has no place in the old states: refused loudly by the CHECK
    with op.batch_alter_table('dispute', schema=None) as batch_op:
        batch_op.drop_index('uq_dispute_active_application', sqlite_where=sa.text(ACTIVE),
                            postgresql_where=sa.text(ACTIVE))
        batch_op.drop_index(batch_op.f('ix_dispute_applicant_user_id'))
        batch_op.drop_constraint(batch_op.f('fk_dispute_accepted_by_id_user_account'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_dispute_applicant_user_id_user_account'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('ck_dispute_applicant_side'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_dispute_state'), type_='check')
        batch_op.create_check_constraint('state', DISPUTE_STATES_BEFORE)
        batch_op.drop_column('accepted_at')
        batch_op.drop_column('accepted_by_id')
        batch_op.drop_column('evidence_sha256')
        batch_op.drop_column('evidence_content_type')
        batch_op.drop_column('evidence_filename')
        batch_op.drop_column('evidence_key')
        batch_op.drop_column('requests')
        batch_op.drop_column('applicant_side')
        batch_op.drop_column('applicant_user_id')

    with op.batch_alter_table('registration_ban', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registration_ban_user_id'))
        batch_op.drop_index(batch_op.f('ix_registration_ban_ident'))
        batch_op.drop_index(batch_op.f('ix_registration_ban_ends_at'))
    op.drop_table('registration_ban')

    # a disqualified registration has no place in the old states: refused loudly by the CHECK
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_registration_state'), type_='check')
        batch_op.create_check_constraint('state', REG_STATES_BEFORE)

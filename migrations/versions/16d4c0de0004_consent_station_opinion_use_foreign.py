"""issue 16: 准予交易证明 for households, the station's opinion, 利用现状, foreign investors

* ``station_opinion`` (第十四条): the town station's opinion on a listing in the center's review — agree / disagree with
  its reasons — or the center reviewer's record of why it could not be had; one per submission.
* ``listing.obtained_by`` (第九条 3, 第十条): how a 四荒 right was obtained ('' for the other categories).
* ``listing.current_use`` (利用现状, 第十四条(一)) keeps NOT NULL and gains the server default '': existing rows already
  hold a value ('' when never filled); the rule that it is filled is a submit rule (listings/rules.py), so a listing
  published before stays as it was published and no placeholder text is invented for it.
* ``party.foreign_kind``, ``registration.foreign_kind`` and the reviewer's check (实施方案 二(四)3: 外资企业和境外投资者):
  '' for accounts and applications from before the question; a declared foreign applicant cannot be qualified
  (qualified / paid / abandoned) without ``foreign_checked_at`` — a CHECK, not only Python.

No new material kinds need the schema (``listing_material.kind`` is free text checked by the service).

Revision ID: 16d4c0de0004
Revises: 16c3c0de0003
Create Date: 2026-12-04 18:00:00

"""
from alembic import op
import sqlalchemy as sa

import exchange.db  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '16d4c0de0004'
down_revision = '16c3c0de0003'
branch_labels = None
depends_on = None

FOREIGN = "'foreign_enterprise', 'foreign_person', 'foreign_org'"


def upgrade():
    with op.batch_alter_table('party', schema=None) as batch_op:
        batch_op.add_column(sa.Column('foreign_kind', sa.String(length=20), server_default='', nullable=False))
        batch_op.create_check_constraint(
            'foreign_kind',
            f"foreign_kind IN ('', 'domestic', {FOREIGN}) AND "
            "(kind = 'organisation' OR foreign_kind IN ('', 'domestic', 'foreign_person')) AND "
            "(kind = 'person' OR foreign_kind <> 'foreign_person')")

    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.add_column(sa.Column('foreign_kind', sa.String(length=20), server_default='', nullable=False))
        batch_op.add_column(sa.Column('foreign_checked_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('foreign_checked_at', exchange.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('foreign_check_note', sa.String(length=500), server_default='', nullable=False))
        batch_op.create_foreign_key(batch_op.f('fk_registration_foreign_checked_by_id_user_account'), 'user_account',
                                    ['foreign_checked_by_id'], ['id'])
        batch_op.create_check_constraint('foreign_kind', f"foreign_kind IN ('', 'domestic', {FOREIGN})")
        batch_op.create_check_constraint(
            'foreign_checked',
            f"foreign_kind NOT IN ({FOREIGN}) OR state NOT IN ('qualified', 'paid', 'abandoned') "
            "OR foreign_checked_at IS NOT NULL")

    with op.batch_alter_table('listing', schema=None) as batch_op:
        batch_op.alter_column('current_use', existing_type=sa.String(length=300), existing_nullable=False,
                              server_default='')
        batch_op.add_column(sa.Column('obtained_by', sa.String(length=20), server_default='', nullable=False))
        batch_op.create_check_constraint('obtained_by', "obtained_by IN ('', 'household_contract', 'open_contract')")

    op.create_table('station_opinion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('listing_id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('verdict', sa.String(length=12), nullable=False),
    sa.Column('reasons', sa.Text(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('given_by_id', sa.Integer(), nullable=True),
    sa.Column('given_by_name', sa.String(length=80), nullable=False),
    sa.Column('given_at', exchange.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint("verdict IN ('agree', 'disagree', 'unavailable')", name=op.f('ck_station_opinion_verdict')),
    sa.CheckConstraint("reasons <> ''", name=op.f('ck_station_opinion_reasons')),
    sa.ForeignKeyConstraint(['given_by_id'], ['user_account.id'],
                            name=op.f('fk_station_opinion_given_by_id_user_account')),
    sa.ForeignKeyConstraint(['listing_id'], ['listing.id'], name=op.f('fk_station_opinion_listing_id_listing')),
    sa.ForeignKeyConstraint(['station_id'], ['org_unit.id'], name=op.f('fk_station_opinion_station_id_org_unit')),
    sa.ForeignKeyConstraint(['submission_id'], ['listing_event.id'],
                            name=op.f('fk_station_opinion_submission_id_listing_event')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_station_opinion')),
    sa.UniqueConstraint('listing_id', 'submission_id', name='uq_station_opinion_listing_submission')
    )
    with op.batch_alter_table('station_opinion', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_station_opinion_listing_id'), ['listing_id'], unique=False)


def downgrade():
    with op.batch_alter_table('station_opinion', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_station_opinion_listing_id'))
    op.drop_table('station_opinion')

    with op.batch_alter_table('listing', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_listing_obtained_by'), type_='check')
        batch_op.drop_column('obtained_by')
        batch_op.alter_column('current_use', existing_type=sa.String(length=300), existing_nullable=False,
                              server_default=None)

    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_registration_foreign_checked'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_registration_foreign_kind'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_registration_foreign_checked_by_id_user_account'), type_='foreignkey')
        batch_op.drop_column('foreign_check_note')
        batch_op.drop_column('foreign_checked_at')
        batch_op.drop_column('foreign_checked_by_id')
        batch_op.drop_column('foreign_kind')

    with op.batch_alter_table('party', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_party_foreign_kind'), type_='check')
        batch_op.drop_column('foreign_kind')

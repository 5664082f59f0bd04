"""calendar: the origin of a day's setting (admin or the State Council's notice); a year confirmed by its notice

Revision ID: b71c0a3e5d21
Revises: a93bfe78903e
Create Date: 2026-12-04 06:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'b71c0a3e5d21'
down_revision = 'a93bfe78903e'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('calendar_day', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin', sa.String(length=10), nullable=False, server_default='manual'))
        batch_op.create_check_constraint('origin', "origin IN ('manual', 'notice')")
    with op.batch_alter_table('calendar_year', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=10), nullable=False, server_default='manual'))
        batch_op.add_column(sa.Column('notice_title', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('notice_text', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('notice_sha256', sa.String(length=64), nullable=False, server_default=''))
        batch_op.create_check_constraint('source', "source IN ('manual', 'notice')")


def downgrade():
    with op.batch_alter_table('calendar_year', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_calendar_year_source'), type_='check')
        batch_op.drop_column('notice_sha256')
        batch_op.drop_column('notice_text')
        batch_op.drop_column('notice_title')
        batch_op.drop_column('source')
    with op.batch_alter_table('calendar_day', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_calendar_day_origin'), type_='check')
        batch_op.drop_column('origin')

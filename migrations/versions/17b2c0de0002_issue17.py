"""issue 17 (intake): the 受理编号 given at a listing's first submission and the key of its public progress page

Revision ID: 17b2c0de0002
Revises: 17a1c0de0001
Create Date: 2026-12-04 20:30:00

"""
from alembic import op
import sqlalchemy as sa

revision = "17b2c0de0002"
down_revision = "17a1c0de0001"
branch_labels = None
depends_on = None


def upgrade():
    # listings submitted before have no 受理回执 (their pages offer none); new submissions are numbered
    with op.batch_alter_table('listing', schema=None) as batch_op:
        batch_op.add_column(sa.Column('intake_no', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('progress_key', sa.String(length=16), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_listing_intake_no'), ['intake_no'])


def downgrade():
    with op.batch_alter_table('listing', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_listing_intake_no'), type_='unique')
        batch_op.drop_column('progress_key')
        batch_op.drop_column('intake_no')

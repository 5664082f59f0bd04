"""state CHECKs from the state machines' enums: two states nothing ever reached leave (registration 'withdrawn',
payment_order 'closed')

Each state column's CHECK now names exactly its enum's states (exchange/<stage>/states.py); tests/test_state_machines
compares the database's CHECK with the enum.  The values are written out here, as they are at this revision.

Revision ID: 5e1a7c0d9b42
Revises: 36eede60b147
Create Date: 2026-12-04 15:10:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '5e1a7c0d9b42'
down_revision = '36eede60b147'
branch_labels = None
depends_on = None


def upgrade():
    # no row can hold them (no code ever set them); refuse loudly rather than rewrite one if a database does
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_registration_state'), type_='check')
        batch_op.create_check_constraint('state', "state IN ('applied', 'qualified', 'rejected', 'paid', 'abandoned')")
    with op.batch_alter_table('payment_order', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_payment_order_state'), type_='check')
        batch_op.create_check_constraint('state', "state IN ('created', 'paid', 'failed')")


def downgrade():
    with op.batch_alter_table('payment_order', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_payment_order_state'), type_='check')
        batch_op.create_check_constraint('state', "state IN ('created', 'paid', 'failed', 'closed')")
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_registration_state'), type_='check')
        batch_op.create_check_constraint('state', "state IN ('applied', 'qualified', 'rejected', 'paid', 'abandoned', "
                                                  "'withdrawn')")

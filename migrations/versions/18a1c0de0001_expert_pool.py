"""issue 18: the center's 专家库 (expert pool) an evaluation panel is drawn from

* ``expert``: name, mobile (for the draw's notice), 工作单位, 职称, active, version — no identity number; one entry
  per name and mobile;
* ``expert_specialty``: one row per expert and specialty (the fixed list in exchange.procurement.models), indexed by
  specialty: the pool of a specialty is one equality on both databases;
* ``expert_village_tie`` / ``expert_party_tie``: the villages (交易点) and parties an expert is tied to, with the
  reason — the draw leaves the expert out of their projects.

Revision ID: 18a1c0de0001
Revises: 17c3c0de0003
Create Date: 2026-12-05 09:00:00

"""
from alembic import op
import sqlalchemy as sa

import exchange.db  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '18a1c0de0001'
down_revision = '17c3c0de0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('expert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=30), nullable=False),
    sa.Column('mobile', sa.String(length=11), nullable=False),
    sa.Column('employer', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=40), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', exchange.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', exchange.db.UTCDateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_expert')),
    sa.UniqueConstraint('name', 'mobile', name=op.f('uq_expert_name_mobile'))
    )
    with op.batch_alter_table('expert', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_expert_active'), ['active'], unique=False)

    op.create_table('expert_specialty',
    sa.Column('expert_id', sa.Integer(), nullable=False),
    sa.Column('specialty', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['expert_id'], ['expert.id'], name=op.f('fk_expert_specialty_expert_id_expert')),
    sa.PrimaryKeyConstraint('expert_id', 'specialty', name=op.f('pk_expert_specialty'))
    )
    with op.batch_alter_table('expert_specialty', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_expert_specialty_specialty'), ['specialty'], unique=False)

    op.create_table('expert_village_tie',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('expert_id', sa.Integer(), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('created_at', exchange.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['expert_id'], ['expert.id'], name=op.f('fk_expert_village_tie_expert_id_expert')),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_unit.id'], name=op.f('fk_expert_village_tie_org_unit_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_expert_village_tie')),
    sa.UniqueConstraint('expert_id', 'org_unit_id', name=op.f('uq_expert_village_tie_expert_id_org_unit_id'))
    )
    with op.batch_alter_table('expert_village_tie', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_expert_village_tie_expert_id'), ['expert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_expert_village_tie_org_unit_id'), ['org_unit_id'], unique=False)

    op.create_table('expert_party_tie',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('expert_id', sa.Integer(), nullable=False),
    sa.Column('party_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('created_at', exchange.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['expert_id'], ['expert.id'], name=op.f('fk_expert_party_tie_expert_id_expert')),
    sa.ForeignKeyConstraint(['party_id'], ['party.id'], name=op.f('fk_expert_party_tie_party_id_party')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_expert_party_tie')),
    sa.UniqueConstraint('expert_id', 'party_id', name=op.f('uq_expert_party_tie_expert_id_party_id'))
    )
    with op.batch_alter_table('expert_party_tie', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_expert_party_tie_expert_id'), ['expert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_expert_party_tie_party_id'), ['party_id'], unique=False)



def downgrade():
    with op.batch_alter_table('expert_party_tie', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_expert_party_tie_party_id'))
        batch_op.drop_index(batch_op.f('ix_expert_party_tie_expert_id'))

    op.drop_table('expert_party_tie')
    with op.batch_alter_table('expert_village_tie', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_expert_village_tie_org_unit_id'))
        batch_op.drop_index(batch_op.f('ix_expert_village_tie_expert_id'))

    op.drop_table('expert_village_tie')
    with op.batch_alter_table('expert_specialty', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_expert_specialty_specialty'))

    op.drop_table('expert_specialty')
    with op.batch_alter_table('expert', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_expert_active'))

    op.drop_table('expert')

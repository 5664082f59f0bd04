"""issue 17: the contract's text kept as the first party signed it

``contract.text_html``: the text (HTML) a party confirmed, frozen at the first signature.  Before, only its SHA-256
was kept and the text was drawn again from the template and the listing for the second party, the PDF and the
archive, so a later change of a template (e.g. how 坐落 is written) made a half-signed contract unsignable and a
signed one print differently from what was signed.  Contracts signed before this keep '' and are drawn as before.

Revision ID: 17c3c0de0003
Revises: 17b2c0de0002
Create Date: 2026-12-04 21:10:00

"""
from alembic import op
import sqlalchemy as sa

revision = "17c3c0de0003"
down_revision = "17b2c0de0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("contract") as batch:
        batch.add_column(sa.Column("text_html", sa.Text(), nullable=False, server_default=""))


def downgrade():
    with op.batch_alter_table("contract") as batch:
        batch.drop_column("text_html")

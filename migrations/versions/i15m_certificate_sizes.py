"""The certificate's download sizes, measured when it is issued (the personal page shows them)

Revision ID: i15m
Revises: i13a
Create Date: 2026-12-01 13:15:00

Older certificates keep NULL: the page measures those as before.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'i15m'
down_revision = 'i13a'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pdf_bytes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('png_bytes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('sizes_digest', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.drop_column('sizes_digest')
        batch_op.drop_column('png_bytes')
        batch_op.drop_column('pdf_bytes')

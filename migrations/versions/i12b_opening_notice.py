"""Opening notices ("avísame"): one message when a course opens an edition.

Revision ID: i12b
Revises: i11a
Create Date: 2026-12-01 09:32:56.287953

"""
from alembic import op
import sqlalchemy as sa

import courses.database


# revision identifiers, used by Alembic.
revision = 'i12b'
down_revision = 'i11a'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('opening_notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('contact_key', sa.String(length=254), nullable=False),
    sa.Column('locale', sa.String(length=5), nullable=False),
    sa.Column('consent_at', courses.database.UTCDateTime(), nullable=False),
    sa.Column('created_at', courses.database.UTCDateTime(), nullable=False),
    sa.CheckConstraint('email IS NOT NULL OR phone IS NOT NULL', name=op.f('ck_opening_notice_reachable')),
    sa.ForeignKeyConstraint(['course_id'], ['course.id'], name=op.f('fk_opening_notice_course_id_course'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opening_notice')),
    sa.UniqueConstraint('course_id', 'contact_key', name=op.f('uq_opening_notice_course_id_contact_key'))
    )
    with op.batch_alter_table('opening_notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_opening_notice_course_id'), ['course_id'], unique=False)



def downgrade():
    with op.batch_alter_table('opening_notice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_opening_notice_course_id'))

    op.drop_table('opening_notice')

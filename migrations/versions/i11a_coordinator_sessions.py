"""coordinator sessions: server-side sessions of coordinators (courses/coordination/sessions.py)

Revision ID: i11a
Revises: i16b
Create Date: 2026-12-01 09:14:50.418913

"""
from alembic import op
import sqlalchemy as sa

import courses.database


# revision identifiers, used by Alembic.
revision = 'i11a'
down_revision = 'i16b'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('coordinator_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('coordinator_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', courses.database.UTCDateTime(), nullable=False),
    sa.Column('last_seen_at', courses.database.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['coordinator_id'], ['coordinator.id'], name=op.f('fk_coordinator_session_coordinator_id_coordinator'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coordinator_session')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_coordinator_session_token_hash'))
    )
    with op.batch_alter_table('coordinator_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_coordinator_session_coordinator_id'), ['coordinator_id'], unique=False)



def downgrade():
    with op.batch_alter_table('coordinator_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_coordinator_session_coordinator_id'))

    op.drop_table('coordinator_session')

"""Course contacts and extra questions; answers per enrollment; leaving an edition.

Revision ID: i12a
Revises: i16a
"""

import sqlalchemy as sa
from alembic import op

import courses.database

revision = "i12a"
down_revision = "i16a"
branch_labels = None
depends_on = None


def upgrade():
    # Existing rows get empty lists and tables; the models always write a value.
    with op.batch_alter_table("course", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("contacts", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
        batch_op.add_column(
            sa.Column("questions", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )

    with op.batch_alter_table("enrollment", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("answers", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )
        batch_op.add_column(
            sa.Column("withdrawn_at", courses.database.UTCDateTime(), nullable=True)
        )
        batch_op.drop_constraint(op.f("ck_enrollment_status"), type_="check")
        batch_op.create_check_constraint(
            "status", "status IN ('registered', 'waiting', 'withdrawn')"
        )


def downgrade():
    with op.batch_alter_table("enrollment", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_enrollment_status"), type_="check")
        batch_op.create_check_constraint("status", "status IN ('registered', 'waiting')")
        batch_op.drop_column("withdrawn_at")
        batch_op.drop_column("answers")

    with op.batch_alter_table("course", schema=None) as batch_op:
        batch_op.drop_column("questions")
        batch_op.drop_column("contacts")

"""Certificate branding: course signatories and logos, editions' proper names (issue 14).

Revision ID: i14a
Revises: i10a
"""

import sqlalchemy as sa
from alembic import op

revision = "i14a"
down_revision = "i10a"
branch_labels = None
depends_on = None


def upgrade():
    # Existing rows get empty values: no signatories, no logos, no proper name ("Edición <slug>").
    with op.batch_alter_table("course", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("signatories", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
        batch_op.add_column(
            sa.Column("logos", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
    with op.batch_alter_table("edition", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("name", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )


def downgrade():
    with op.batch_alter_table("edition", schema=None) as batch_op:
        batch_op.drop_column("name")
    with op.batch_alter_table("course", schema=None) as batch_op:
        batch_op.drop_column("logos")
        batch_op.drop_column("signatories")

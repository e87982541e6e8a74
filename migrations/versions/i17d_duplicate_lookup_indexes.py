"""PostgreSQL indexes for the likely-duplicate lookup: an edition's phones and folded names

Revision ID: i17d
Revises: i15m
Create Date: 2026-12-01 15:40:00

The coordinators' list looks up, for its fifty people, every registration of the edition with
the same phone or the same name folded by `courses.coordination.listing.fold_sql`; without
these indexes PostgreSQL reads and folds every row of the edition (0.4 s at 100,000). The name
index is on exactly the SQL `fold_sql` compiles to on PostgreSQL (`translate(lower(name), …)`),
so a change to the folding table must come with a new index. SQLite gets neither: it cannot
index the Python folding function, and so its lookup reads the edition either way. Being
PostgreSQL-only (one on an expression), they are not declared on the model.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'i17d'
down_revision = 'i15m'
branch_labels = None
depends_on = None

#: `fold_sql(Enrollment.name)` on PostgreSQL, as of this revision.
FOLDED_NAME = (
    "translate(lower(name), 'áàâäãåÁÀÂÄÃÅéèêëÉÈÊËíìîïÍÌÎÏóòôöõÓÒÔÖÕúùûüÚÙÛÜñÑçÇ', "
    "'aaaaaaaaaaaaeeeeeeeeiiiiiiiioooooooooouuuuuuuunncc')"
)


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.create_index('ix_enrollment_edition_phone', 'enrollment', ['edition_id', 'phone'])
    op.create_index(
        'ix_enrollment_edition_folded_name', 'enrollment', ['edition_id', sa.text(FOLDED_NAME)]
    )


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_index('ix_enrollment_edition_folded_name', table_name='enrollment')
    op.drop_index('ix_enrollment_edition_phone', table_name='enrollment')

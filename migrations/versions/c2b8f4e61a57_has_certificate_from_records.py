"""持证 follows the certificate records: a member holds one while a valid one is on record

Revision ID: c2b8f4e61a57
Revises: a4c1e7d93b20
Create Date: 2026-12-07 23:40:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "c2b8f4e61a57"
down_revision = "a4c1e7d93b20"
branch_labels = None
depends_on = None


def upgrade():
    # Until now the flag was also a box on the member form and a roster column, so it
    # could say 持证 with nothing issued (or the reverse). From here on only issuing,
    # revoking and returning papers set it; start from what the records say.
    op.execute(
        "UPDATE members SET has_certificate = EXISTS ("
        "SELECT 1 FROM certificates WHERE certificates.member_id = members.id "
        "AND certificates.status = 'valid')"
    )


def downgrade():
    pass  # the hand-set values are gone; the derived ones are as good a start as any

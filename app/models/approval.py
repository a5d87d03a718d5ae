"""The PI's approval of an on-campus charge (issue 14, item 4): a campus user's charge goes to its project
account, and the account's PI (a Person, who usually has no account on the platform) approves it through
a signed link mailed to them — or, when the PI has no e-mail address, an administrator above the lab (its
college's or the school's, never the lab that earns the charge) records the decision given on paper with the
signed paper's scan. The charge is not invoiced before it is approved. A row of its own, because a confirmed
charge is never edited."""
import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import relationship

from app import clock

from .base import UtcDateTime
from .choices import PI_APPROVAL_STATE, PI_DECIDED_VIA
from .instrument import OwnedByInstrument


class ChargeApproval(OwnedByInstrument, Model):
    __tablename__ = "charge_approval"
    id = sa.Column(sa.Integer, primary_key=True)
    charge_id = sa.Column(sa.Integer, sa.ForeignKey("charge.id", ondelete="CASCADE"), nullable=False, unique=True)
    charge = relationship("Charge", back_populates="approval")
    instrument_id = sa.Column(sa.Integer, sa.ForeignKey("instrument.id", ondelete="CASCADE"), nullable=False, index=True)
    instrument = relationship("Instrument")
    pi_id = sa.Column(sa.Integer, sa.ForeignKey("person.id", ondelete="SET NULL"))
    pi = relationship("Person")
    pi_name = sa.Column(sa.String(64))  # as it was when asked
    email_to = sa.Column(sa.String(120))  # none: the PI has no address, the lab records the decision
    project_account = sa.Column(sa.String(64))
    state = sa.Column(PI_APPROVAL_STATE.column_type(), nullable=False, default="awaiting")
    requested_at = sa.Column(UtcDateTime, nullable=False, default=clock.now)
    nonce = sa.Column(sa.String(32), nullable=False)  # in the signed link; a new link replaces it
    emailed_at = sa.Column(UtcDateTime)
    email_error = sa.Column(sa.Text)
    decided_at = sa.Column(UtcDateTime)
    decided_via = sa.Column(PI_DECIDED_VIA.column_type())
    recorded_by_id = sa.Column(sa.Integer, sa.ForeignKey("ab_user.id"))  # who recorded a paper decision
    note = sa.Column(sa.Text)  # the PI's reason for a rejection, or the record of a paper decision
    # the signed paper's scan (a PDF checked by its content), stored outside the web root under a random name
    scan_path = sa.Column(sa.String(255))
    scan_name = sa.Column(sa.String(200))  # as uploaded
    scan_size = sa.Column(sa.Integer)
    scan_sha256 = sa.Column(sa.String(64))
    __table_args__ = (
        sa.CheckConstraint("state <> 'rejected' OR note IS NOT NULL", name="pi_rejection_has_reason"),
        sa.CheckConstraint("(state = 'awaiting') = (decided_at IS NULL)", name="pi_decision_has_time"),
        sa.CheckConstraint("decided_via IS NULL OR decided_via <> 'paper' OR scan_path IS NOT NULL",
                           name="pi_paper_has_scan"),
    )

    def __repr__(self):
        return f"#{self.charge_id}"

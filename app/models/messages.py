"""The in-app message centre (issue 13): what a step of the service flow tells the accounts it
concerns, read in the console and, when mail is configured, also sent by e-mail (the queue's task
records whether it went). A message belongs to its recipient's account alone — the one scope filter
gives every account, the school's included, only its own (`addressed_to_account`)."""
import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import relationship

from app import clock

from .base import UtcDateTime


class Message(Model):
    __tablename__ = "message"
    addressed_to_account = True  # scope: the recipient only, whatever the caller's unit

    id = sa.Column(sa.Integer, primary_key=True)
    recipient_id = sa.Column(sa.Integer, sa.ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False)
    recipient = relationship("PlatformUser")
    kind = sa.Column(sa.String(32), nullable=False)  # app/services/people/notifications.py names them
    subject = sa.Column(sa.String(200), nullable=False)
    body = sa.Column(sa.Text, nullable=False)
    link = sa.Column(sa.String(300))  # a path in the console
    booking_id = sa.Column(sa.Integer, sa.ForeignKey("booking.id", ondelete="CASCADE"), index=True)
    booking = relationship("Booking")
    attach_ics = sa.Column(sa.Boolean, nullable=False, default=False)  # the booking's time as an .ics
    # a reminder or warning is sent once: the same key is never inserted twice
    dedupe_key = sa.Column(sa.String(120), unique=True)
    created_at = sa.Column(UtcDateTime, nullable=False, default=clock.now)
    read_at = sa.Column(UtcDateTime)
    email_to = sa.Column(sa.String(120))  # set when it is to be e-mailed
    emailed_at = sa.Column(UtcDateTime)
    email_error = sa.Column(sa.Text)
    __table_args__ = (sa.Index("ix_message_recipient_unread", "recipient_id", "read_at", "created_at"),)

    @property
    def unread(self) -> bool:
        return self.read_at is None

    @classmethod
    def account_clause(cls, account_id):
        return cls.recipient_id == account_id

    def __repr__(self):
        return self.subject

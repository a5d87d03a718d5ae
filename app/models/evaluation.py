"""Service evaluations (服务评价): a user's rating of a completed booking and the lab's reply (the rules
and the averages per instrument: app/services/booking/evaluations.py)."""
import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import relationship

from app import clock

from .base import UtcDateTime
from .booking import Booking


class Evaluation(Model):
    """The user's rating of a completed booking (1 极差 … 5 非常满意): overall and for the lab's
    attitude, timeliness and quality, with a comment; the lab replies once (app/services/booking/evaluations.py)."""

    __tablename__ = "evaluation"
    id = sa.Column(sa.Integer, primary_key=True)
    booking_id = sa.Column(sa.Integer, sa.ForeignKey("booking.id"), nullable=False, unique=True)
    booking = relationship("Booking", back_populates="evaluation")
    score = sa.Column(sa.SmallInteger, nullable=False)
    attitude = sa.Column(sa.SmallInteger)
    timeliness = sa.Column(sa.SmallInteger)
    quality = sa.Column(sa.SmallInteger)
    comment = sa.Column(sa.Text)
    reply = sa.Column(sa.Text)
    replied_at = sa.Column(UtcDateTime)
    replied_by_id = sa.Column(sa.Integer, sa.ForeignKey("ab_user.id"))
    created_at = sa.Column(UtcDateTime, nullable=False, default=clock.now)
    __table_args__ = (
        sa.CheckConstraint("score BETWEEN 1 AND 5", name="score_one_to_five"),
        sa.CheckConstraint("attitude IS NULL OR attitude BETWEEN 1 AND 5", name="attitude_one_to_five"),
        sa.CheckConstraint("timeliness IS NULL OR timeliness BETWEEN 1 AND 5", name="timeliness_one_to_five"),
        sa.CheckConstraint("quality IS NULL OR quality BETWEEN 1 AND 5", name="quality_one_to_five"),
    )

    @classmethod
    def scope_clause(cls, unit_ids):
        return cls.booking_id.in_(sa.select(Booking.id).where(Booking.scope_clause(unit_ids)))

    @classmethod
    def own_clause(cls, service_user_id):
        return cls.booking_id.in_(sa.select(Booking.id).where(Booking.user_id == service_user_id))

    def scope_owner_unit_id(self):
        return self.booking.scope_owner_unit_id() if self.booking is not None else None

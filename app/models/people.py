"""Staff and the three-level training they receive."""
import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import relationship

from .choices import PERSON_DUTY, TRAINING_LEVEL

training_attendee = sa.Table(
    "training_attendee",
    Model.metadata,
    sa.Column("training_id", sa.Integer, sa.ForeignKey("training_session.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("person_id", sa.Integer, sa.ForeignKey("person.id", ondelete="CASCADE"), primary_key=True),
)


class Person(Model):
    __tablename__ = "person"
    id = sa.Column(sa.Integer, primary_key=True)
    name = sa.Column(sa.String(64), nullable=False, index=True)
    unit_id = sa.Column(sa.Integer, sa.ForeignKey("unit.id"), nullable=False, index=True)
    unit = relationship("Unit")
    post = sa.Column(sa.String(100))
    mobile = sa.Column(sa.String(20))
    email = sa.Column(sa.String(120))
    duty = sa.Column(PERSON_DUTY.column_type(), nullable=False, default="technician")
    remarks = sa.Column(sa.Text)
    left_on = sa.Column(sa.Date)  # the day the person left the school: no longer anyone's responsible person
    trainings = relationship("TrainingSession", secondary="training_attendee", back_populates="attendees")

    def __repr__(self):
        return self.name

    @classmethod
    def scope_clause(cls, unit_ids):
        return cls.unit_id.in_(unit_ids)


class TrainingSession(Model):
    __tablename__ = "training_session"
    id = sa.Column(sa.Integer, primary_key=True)
    level = sa.Column(TRAINING_LEVEL.column_type(), nullable=False)
    unit_id = sa.Column(sa.Integer, sa.ForeignKey("unit.id"), nullable=False, index=True)
    unit = relationship("Unit")
    held_on = sa.Column(sa.Date, nullable=False)
    topic = sa.Column(sa.String(200), nullable=False)
    attendees = relationship("Person", secondary=training_attendee, back_populates="trainings")

    def __repr__(self):
        return self.topic

    @classmethod
    def scope_clause(cls, unit_ids):
        return cls.unit_id.in_(unit_ids)

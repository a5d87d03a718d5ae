"""Customers, bookings, usage (machine time), charges, evaluations and contracts."""
import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import relationship

from app import clock

from .base import MONEY, UtcDateTime
from .choices import (
    BOOKING_MODE,
    BOOKING_STATE,
    CHARGE_STATE,
    CUSTOMER_CATEGORY,
    PAYMENT_METHOD,
    SERVICE_USER_STATUS,
    SERVICE_TYPE,
    USAGE_DIRECTION,
    USAGE_SOURCE,
)
from .instrument import Instrument, OwnedByInstrument


class CustomerOrg(Model):
    __tablename__ = "customer_org"
    id = sa.Column(sa.Integer, primary_key=True)
    name = sa.Column(sa.String(200), nullable=False)
    category = sa.Column(CUSTOMER_CATEGORY.column_type(), nullable=False)
    affiliated = sa.Column(sa.Boolean, nullable=False, default=False)
    credit_code = sa.Column(sa.String(18), unique=True)

    def __repr__(self):
        return self.name

    @classmethod
    def scope_clause(cls, unit_ids):
        """The school's customers: every administrator's."""
        return sa.true()


class ServiceUser(Model):
    """Who books: an outside user (registered, approved by an administrator) or an on-campus
    researcher (created by an administrator, bound to a lab or research group, with the project
    account charges go to and the PI who approves them)."""

    __tablename__ = "service_user"
    id = sa.Column(sa.Integer, primary_key=True)
    name = sa.Column(sa.String(64), nullable=False)
    org_id = sa.Column(sa.Integer, sa.ForeignKey("customer_org.id"), nullable=False, index=True)
    org = relationship("CustomerOrg", backref="members")
    account_id = sa.Column(sa.Integer, sa.ForeignKey("ab_user.id"), unique=True)
    account = relationship("PlatformUser", foreign_keys=[account_id])
    mobile = sa.Column(sa.String(20))
    email = sa.Column(sa.String(120))
    status = sa.Column(SERVICE_USER_STATUS.column_type(), nullable=False, default="active")
    # on campus: the lab or research group, its project account (经费卡号/项目号) and PI
    unit_id = sa.Column(sa.Integer, sa.ForeignKey("unit.id"), index=True)
    unit = relationship("Unit")
    project_account = sa.Column(sa.String(64))
    pi_id = sa.Column(sa.Integer, sa.ForeignKey("person.id"))
    pi = relationship("Person")
    # self-operated booking suspended after repeated no-shows (app/services/booking.py)
    suspended_until = sa.Column(sa.Date)
    suspension_reason = sa.Column(sa.Text)
    calendar_token = sa.Column(sa.String(64), unique=True)  # the secret of the personal iCalendar feed
    registered_at = sa.Column(UtcDateTime, default=clock.now)
    decided_at = sa.Column(UtcDateTime)  # registration approved or refused
    decided_by_id = sa.Column(sa.Integer, sa.ForeignKey("ab_user.id"))

    def __repr__(self):
        return f"{self.name}（{self.org.name}）" if self.org is not None else self.name

    @classmethod
    def scope_clause(cls, unit_ids):
        """On-campus users by their lab; outside users (no unit) are every administrator's customers."""
        return sa.or_(cls.unit_id.in_(unit_ids), cls.unit_id.is_(None))

    @classmethod
    def own_clause(cls, service_user_id):
        return cls.id == service_user_id

    @classmethod
    def reference_clause(cls):
        """Whom a record may name as its user (an authorisation): any active service user — a lab trains
        whoever comes, an on-campus researcher of another lab included; never a registration not yet approved."""
        return cls.status == "active"


class ServiceContract(Model):
    """A service contract (Art. 16) between an outside organisation and a unit of the school (a lab,
    a college, or the school itself, covering every lab below it), valid over a span of days, with its
    scanned PDF kept outside the web root (instance/contracts/, app/services/contracts.py)."""

    __tablename__ = "service_contract"
    id = sa.Column(sa.Integer, primary_key=True)
    number = sa.Column(sa.String(64), unique=True, nullable=False)
    org_id = sa.Column(sa.Integer, sa.ForeignKey("customer_org.id"), nullable=False)
    org = relationship("CustomerOrg")
    unit_id = sa.Column(sa.Integer, sa.ForeignKey("unit.id"), nullable=False, index=True)
    unit = relationship("Unit")
    service_content = sa.Column(sa.Text, nullable=False)
    ip_ownership = sa.Column(sa.Text, nullable=False)
    confidentiality = sa.Column(sa.Text, nullable=False)
    damages = sa.Column(sa.Text, nullable=False)
    liability = sa.Column(sa.Text, nullable=False)
    dispute_resolution = sa.Column(sa.Text, nullable=False)
    signed_on = sa.Column(sa.Date)
    valid_from = sa.Column(sa.Date)
    valid_until = sa.Column(sa.Date)  # none: until terminated
    file_path = sa.Column(sa.String(255))  # the stored scan's name under instance/contracts/
    file_name = sa.Column(sa.String(200))  # as uploaded
    file_size = sa.Column(sa.Integer)
    file_sha256 = sa.Column(sa.String(64))
    uploaded_at = sa.Column(UtcDateTime)
    uploaded_by_id = sa.Column(sa.Integer, sa.ForeignKey("ab_user.id"))
    __table_args__ = (sa.CheckConstraint("valid_until IS NULL OR valid_from IS NULL OR valid_until >= valid_from",
                                         name="contract_validity_ordered"),)

    def __repr__(self):
        return f"{self.number}（{self.org.name}）" if self.org is not None else self.number

    @classmethod
    def scope_clause(cls, unit_ids):
        return cls.unit_id.in_(unit_ids)

    @classmethod
    def own_clause(cls, service_user_id):
        """A service user reads its organisation's contracts."""
        return cls.org_id.in_(sa.select(ServiceUser.org_id).where(ServiceUser.id == service_user_id))


class Booking(Model):
    __tablename__ = "booking"
    id = sa.Column(sa.Integer, primary_key=True)
    instrument_id = sa.Column(sa.Integer, sa.ForeignKey("instrument.id"), nullable=False, index=True)
    instrument = relationship("Instrument", foreign_keys=[instrument_id])
    user_id = sa.Column(sa.Integer, sa.ForeignKey("service_user.id"), nullable=False, index=True)
    user = relationship("ServiceUser")
    mode = sa.Column(BOOKING_MODE.column_type(), nullable=False)
    # a self-operated booking's slot: as asked, then as the lab scheduled it
    requested_start = sa.Column(UtcDateTime)
    requested_end = sa.Column(UtcDateTime)
    scheduled_start = sa.Column(UtcDateTime)
    scheduled_end = sa.Column(UtcDateTime)
    # sample testing and technical service: the day wished for, the day the lab scheduled
    requested_date = sa.Column(sa.Date)
    scheduled_date = sa.Column(sa.Date)
    sample_count = sa.Column(sa.Integer)
    purpose = sa.Column(sa.Text)
    samples = sa.Column(sa.Text)  # the samples' description: name, state, quantity
    sample_hazards = sa.Column(sa.Text)
    sample_disposal = sa.Column(sa.Text)
    state = sa.Column(BOOKING_STATE.column_type(), nullable=False, default="pending")
    submitted_at = sa.Column(UtcDateTime, nullable=False, default=clock.now)
    # notice §(四)2: answered within 5 Chinese working days of the submission's Beijing date
    respond_by = sa.Column(sa.Date)
    respond_by_official = sa.Column(sa.Boolean, nullable=False, default=True)  # False: a day on the way lacked official data
    responded_at = sa.Column(UtcDateTime)
    delayed = sa.Column(sa.Boolean, nullable=False, default=False)  # scheduled later than asked, with a reason
    response_reason = sa.Column(sa.Text)
    alternative = sa.Column(sa.Text)
    alternative_instrument_id = sa.Column(sa.Integer, sa.ForeignKey("instrument.id"))
    alternative_instrument = relationship("Instrument", foreign_keys=[alternative_instrument_id])
    cancelled_at = sa.Column(UtcDateTime)
    late_cancellation = sa.Column(sa.Boolean, nullable=False, default=False)
    no_show_at = sa.Column(UtcDateTime)
    reminded_at = sa.Column(UtcDateTime)  # the day-before reminder went out
    warned_at = sa.Column(UtcDateTime)  # the lab was warned of the respond-by
    contract_id = sa.Column(sa.Integer, sa.ForeignKey("service_contract.id"))
    contract = relationship("ServiceContract")
    # an outside user without a contract accepted the school's standard terms, when they apply
    terms_accepted_at = sa.Column(UtcDateTime)
    __table_args__ = (
        sa.CheckConstraint("sample_count IS NULL OR sample_count >= 0", name="sample_count_non_negative"),
        sa.CheckConstraint(
            "scheduled_end IS NULL OR scheduled_start IS NULL OR scheduled_end > scheduled_start",
            name="booking_schedule_ordered",
        ),
        sa.CheckConstraint(
            "requested_end IS NULL OR requested_start IS NULL OR requested_end > requested_start",
            name="booking_request_ordered",
        ),
        # the lab's queue (by respond-by) and an instrument's calendar (by the slot's start, the
        # scheduled one or else the requested one: a week of it is one index range)
        sa.Index("ix_booking_state_respond_by", "state", "respond_by"),
        sa.Index("ix_booking_instrument_slot", "instrument_id", sa.text("coalesce(scheduled_start, requested_start)")),
    )

    # a self-operated booking holds its slot in these states (a refusal or cancellation frees it);
    # the database keeps two holding slots of one instrument from overlapping (migration 0013)
    HOLDING = ("pending", "scheduled", "completed", "no_show")

    @property
    def slot_start(self):
        return self.scheduled_start or self.requested_start

    @property
    def slot_end(self):
        return self.scheduled_end or self.requested_end

    @classmethod
    def scope_clause(cls, unit_ids):
        return cls.instrument_id.in_(sa.select(Instrument.id).where(Instrument.unit_id.in_(unit_ids)))

    @classmethod
    def own_clause(cls, service_user_id):
        return cls.user_id == service_user_id

    def scope_owner_unit_id(self):
        return self.instrument.unit_id if self.instrument is not None else None


OPEN_SESSION = "ended_at IS NULL AND hours IS NULL AND source = 'manual'"


class UsageRecord(OwnedByInstrument, Model):
    __tablename__ = "usage_record"
    id = sa.Column(sa.Integer, primary_key=True)
    instrument_id = sa.Column(sa.Integer, sa.ForeignKey("instrument.id"), nullable=False)
    instrument = relationship("Instrument")
    booking_id = sa.Column(sa.Integer, sa.ForeignKey("booking.id"), index=True)
    booking = relationship("Booking", backref="usage_records")
    user_id = sa.Column(sa.Integer, sa.ForeignKey("service_user.id"), index=True)
    user = relationship("ServiceUser")
    started_at = sa.Column(UtcDateTime, nullable=False)
    ended_at = sa.Column(UtcDateTime)
    hours = sa.Column(sa.Numeric(10, 2))
    samples = sa.Column(sa.Integer)  # sample testing: the samples tested
    samples_received = sa.Column(sa.Integer)
    samples_returned = sa.Column(sa.Integer)
    operator_id = sa.Column(sa.Integer, sa.ForeignKey("person.id"))
    operator = relationship("Person")
    source = sa.Column(USAGE_SOURCE.column_type(), nullable=False, default="manual")
    service_type = sa.Column(SERVICE_TYPE.column_type(), nullable=False, default="internal")
    direction = sa.Column(USAGE_DIRECTION.column_type(), nullable=False, default="research")
    registered_by_id = sa.Column(sa.Integer, sa.ForeignKey("ab_user.id"))
    registered_at = sa.Column(UtcDateTime)
    __table_args__ = (
        sa.CheckConstraint("hours IS NULL OR hours >= 0", name="usage_hours_non_negative"),
        sa.CheckConstraint("samples_received IS NULL OR samples_received >= 0", name="usage_received_non_negative"),
        sa.CheckConstraint("samples_returned IS NULL OR samples_returned >= 0", name="usage_returned_non_negative"),
        sa.CheckConstraint("samples IS NULL OR samples >= 0", name="usage_samples_non_negative"),
        sa.CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="usage_period_ordered"),
        # an instrument's usage by time; on PostgreSQL it also carries the columns the year's
        # figures per instrument need, so the annual report reads it alone, in instrument order,
        # without hashing a million rows (migration 0010)
        sa.Index("ix_usage_instrument_started", "instrument_id", "started_at",
                 postgresql_include=["user_id", "hours", "samples", "source", "service_type"]),
        # one machine-time record per running period: a redelivered message adds nothing
        sa.Index("uq_usage_iot_period", "instrument_id", "started_at", unique=True,
                 sqlite_where=sa.text("source = 'iot'"), postgresql_where=sa.text("source = 'iot'")),
        # at most one open session (started, not ended) per instrument, whichever process starts it
        sa.Index("uq_usage_open_session", "instrument_id", unique=True,
                 sqlite_where=sa.text(OPEN_SESSION), postgresql_where=sa.text(OPEN_SESSION)),
    )

    @property
    def is_open(self):
        return self.ended_at is None and self.hours is None

    def __repr__(self):
        name = self.instrument.name if self.instrument is not None else ""
        return f"#{self.id} {name} {clock.display(self.started_at)}" if self.started_at else f"#{self.id} {name}"

    @classmethod
    def own_clause(cls, service_user_id):
        return cls.user_id == service_user_id


class Charge(Model):
    """What one completed use costs (app/services/settlement.py), or a credit note (红冲) against one:
    pending → confirmed → invoiced → settled; a confirmed charge is never edited, a correction is a
    credit note (negative, pointing at the original) plus a new charge; a waiver (免收) needs a reason."""

    __tablename__ = "charge"
    id = sa.Column(sa.Integer, primary_key=True)
    usage_id = sa.Column(sa.Integer, sa.ForeignKey("usage_record.id"), nullable=False, index=True)
    usage = relationship("UsageRecord", backref="charges")
    user_id = sa.Column(sa.Integer, sa.ForeignKey("service_user.id"), index=True)
    user = relationship("ServiceUser")
    customer_category = sa.Column(CUSTOMER_CATEGORY.column_type())  # the user's category when priced
    project_account = sa.Column(sa.String(64))  # on campus: the account it goes to, as it was then
    fee_standard_id = sa.Column(sa.Integer, sa.ForeignKey("fee_standard.id"))
    fee_standard = relationship("FeeStandard")
    total = sa.Column(MONEY, nullable=False, default=0)
    state = sa.Column(CHARGE_STATE.column_type(), nullable=False, default="pending")
    confirmed_at = sa.Column(UtcDateTime)
    confirmed_by_id = sa.Column(sa.Integer, sa.ForeignKey("ab_user.id"))
    invoice_number = sa.Column(sa.String(64), unique=True)
    invoice_date = sa.Column(sa.Date)
    paid_on = sa.Column(sa.Date)
    payment_method = sa.Column(PAYMENT_METHOD.column_type())
    credit_of_id = sa.Column(sa.Integer, sa.ForeignKey("charge.id"))
    credit_of = relationship("Charge", remote_side=[id], backref="credit_notes")
    reason = sa.Column(sa.Text)  # a credit note's or a waiver's
    created_by_id = sa.Column(sa.Integer, sa.ForeignKey("ab_user.id"))
    created_at = sa.Column(UtcDateTime, nullable=False, default=clock.now)
    __table_args__ = (
        # a credit note (红冲) carries a negative total; every other charge is >= 0
        sa.CheckConstraint("credit_of_id IS NOT NULL OR total >= 0", name="charge_total_non_negative"),
        sa.CheckConstraint("credit_of_id IS NULL OR total < 0", name="credit_note_negative"),
        sa.CheckConstraint("state <> 'waived' OR reason IS NOT NULL", name="waiver_has_reason"),
        sa.CheckConstraint("paid_on IS NULL OR invoice_date IS NULL OR paid_on >= invoice_date",
                           name="paid_after_invoice"),
        sa.Index("ix_charge_invoice_date", "invoice_date"),
    )

    @property
    def booking_id(self):
        return self.usage.booking_id if self.usage is not None else None

    @classmethod
    def scope_clause(cls, unit_ids):
        return cls.usage_id.in_(sa.select(UsageRecord.id).where(UsageRecord.scope_clause(unit_ids)))

    @classmethod
    def own_clause(cls, service_user_id):
        return cls.user_id == service_user_id

    def scope_owner_unit_id(self):
        return self.usage.scope_owner_unit_id() if self.usage is not None else None


class ChargeLine(Model):
    __tablename__ = "charge_line"
    id = sa.Column(sa.Integer, primary_key=True)
    charge_id = sa.Column(sa.Integer, sa.ForeignKey("charge.id", ondelete="CASCADE"), nullable=False, index=True)
    charge = relationship("Charge", backref="lines")
    fee_item_id = sa.Column(sa.Integer, sa.ForeignKey("fee_item.id"))
    description = sa.Column(sa.String(200), nullable=False)
    quantity = sa.Column(sa.Numeric(12, 2), nullable=False)
    unit_price = sa.Column(MONEY, nullable=False)
    amount = sa.Column(MONEY, nullable=False)


class Evaluation(Model):
    """The user's rating of a completed booking (1 极差 … 5 非常满意): overall and for the lab's
    attitude, timeliness and quality, with a comment; the lab replies once (app/services/evaluations.py)."""

    __tablename__ = "evaluation"
    id = sa.Column(sa.Integer, primary_key=True)
    booking_id = sa.Column(sa.Integer, sa.ForeignKey("booking.id"), nullable=False, unique=True)
    booking = relationship("Booking", backref=sa.orm.backref("evaluation", uselist=False))
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


# a charge list shows each charge's instrument: computed in the list's own query, deferred so that
# nothing else pays for it (the list view undefers it)
Charge.instrument_name = sa.orm.column_property(
    sa.select(Instrument.name).join(UsageRecord, UsageRecord.instrument_id == Instrument.id)
    .where(UsageRecord.id == Charge.usage_id).correlate_except(Instrument, UsageRecord).scalar_subquery(),
    deferred=True,
)


class InstrumentYearCost(OwnedByInstrument, Model):
    """Art. 15's cost basis of one instrument and year, entered by its lab: the materials consumed
    by sharing services and the year's utilities and running total (water, power, gas…), from
    which the sharing share of use is pro-rated."""

    __tablename__ = "instrument_year_cost"
    id = sa.Column(sa.Integer, primary_key=True)
    instrument_id = sa.Column(sa.Integer, sa.ForeignKey("instrument.id"), nullable=False, index=True)
    instrument = relationship("Instrument")
    year = sa.Column(sa.Integer, nullable=False)
    materials_cost = sa.Column(MONEY, nullable=False, default=0)
    utilities_total = sa.Column(MONEY, nullable=False, default=0)
    remarks = sa.Column(sa.Text)
    __table_args__ = (
        sa.UniqueConstraint("instrument_id", "year", name="uq_instrument_year_cost"),
        sa.CheckConstraint("year BETWEEN 2000 AND 2100", name="cost_year_in_range"),
        sa.CheckConstraint("materials_cost >= 0", name="materials_cost_non_negative"),
        sa.CheckConstraint("utilities_total >= 0", name="utilities_total_non_negative"),
    )


class TypicalCase(Model):
    """A typical case of the year's sharing service (Art. 14's annual report), written by a lab."""

    __tablename__ = "typical_case"
    id = sa.Column(sa.Integer, primary_key=True)
    unit_id = sa.Column(sa.Integer, sa.ForeignKey("unit.id"), nullable=False, index=True)
    unit = relationship("Unit")
    year = sa.Column(sa.Integer, nullable=False)
    title = sa.Column(sa.String(200), nullable=False)
    instrument_id = sa.Column(sa.Integer, sa.ForeignKey("instrument.id"), index=True)
    instrument = relationship("Instrument")
    served = sa.Column(sa.String(200))  # whom the service supported
    summary = sa.Column(sa.Text, nullable=False)  # what was done and what it achieved
    __table_args__ = (sa.CheckConstraint("year BETWEEN 2000 AND 2100", name="case_year_in_range"),)

    @classmethod
    def scope_clause(cls, unit_ids):
        return cls.unit_id.in_(unit_ids)

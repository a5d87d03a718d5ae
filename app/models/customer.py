"""Who the platform serves: customer organisations, service users (outside users and on-campus
researchers) and the service contracts (Art. 16) between an outside organisation and a unit."""
from datetime import date
from typing import NamedTuple

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import relationship

from app import clock

from .base import UtcDateTime
from .choices import CUSTOMER_CATEGORY, SERVICE_USER_STATUS


class CustomerOrg(Model):
    __tablename__ = "customer_org"
    id = sa.Column(sa.Integer, primary_key=True)
    name = sa.Column(sa.String(200), nullable=False)
    category = sa.Column(CUSTOMER_CATEGORY.column_type(), nullable=False)
    affiliated = sa.Column(sa.Boolean, nullable=False, default=False)
    credit_code = sa.Column(sa.String(18), unique=True)
    members = relationship("ServiceUser", back_populates="org")

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
    org = relationship("CustomerOrg", back_populates="members")
    authorisations = relationship("Authorisation", back_populates="user")
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
    # self-operated booking suspended after repeated no-shows (app/services/booking/bookings.py)
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


class ContractScan(NamedTuple):
    """A contract's stored scan: whose it is, its name as uploaded (else the contract's number), its size in bytes."""

    contract_id: int
    file_name: str
    file_size: int


class ServiceContract(Model):
    """A service contract (Art. 16) between an outside organisation and a unit of the school (a lab,
    a college, or the school itself, covering every lab below it), valid over a span of days, with its
    scanned PDF kept outside the web root (instance/contracts/, app/services/people/contracts.py)."""

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

    def validity_on(self, day: date) -> str:
        """unsigned, not_yet_valid, valid or expired on `day`."""
        if self.signed_on is None:
            return "unsigned"
        if self.valid_until is not None and self.valid_until < day:
            return "expired"
        if self.valid_from is not None and self.valid_from > day:
            return "not_yet_valid"
        return "valid"

    @property
    def validity(self) -> str:
        """Its validity today (Beijing)."""
        return self.validity_on(clock.today())

    @property
    def scan_file(self) -> ContractScan | None:
        """The scanned PDF, None until one is uploaded."""
        if not self.file_path:
            return None
        return ContractScan(self.id, self.file_name or self.number, self.file_size or 0)

    @classmethod
    def scope_clause(cls, unit_ids):
        return cls.unit_id.in_(unit_ids)

    @classmethod
    def own_clause(cls, service_user_id):
        """A service user reads its organisation's contracts."""
        return cls.org_id.in_(sa.select(ServiceUser.org_id).where(ServiceUser.id == service_user_id))

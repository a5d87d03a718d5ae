"""FAB's user, bound to a unit (the root of the user's scope)."""
import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import User
from sqlalchemy.orm import relationship

# The roles' names (SPEC §1), the rows of FAB's role table; what each may do is app/security/screens.py's.
SCHOOL_ADMIN = "SchoolAdmin"  # FAB's AUTH_ROLE_ADMIN: holds every permission
COLLEGE_ADMIN = "CollegeAdmin"
LAB_ADMIN = "LabAdmin"
SERVICE_USER = "ServiceUser"
PUBLIC = "Public"  # FAB's AUTH_ROLE_PUBLIC: anonymous visitors
ADMIN_ROLES = frozenset({LAB_ADMIN, COLLEGE_ADMIN, SCHOOL_ADMIN})


class PlatformUser(User):
    """FAB signs in by `lower(username)` and expects one row: names and addresses are unique whatever
    their case (migration 0021), or a registration of `LAB_ADMIN` locks `lab_admin` out."""

    __tablename__ = "ab_user"
    __table_args__ = (
        sa.Index("uq_ab_user_username_lower", sa.text("lower(username)"), unique=True),
        sa.Index("uq_ab_user_email_lower", sa.text("lower(email)"), unique=True),
        {"extend_existing": True},
    )
    unit_id = sa.Column(sa.Integer, sa.ForeignKey("unit.id"), index=True)
    unit = relationship("Unit")

    def get_full_name(self):
        # Chinese order: family name first, no space (姓 + 名)
        return f"{self.last_name or ''}{self.first_name or ''}"

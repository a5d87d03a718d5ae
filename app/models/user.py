"""FAB's user, bound to a unit (the root of the user's scope)."""
import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import User
from sqlalchemy.orm import relationship


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

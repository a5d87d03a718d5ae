"""FAB's user, bound to a unit (the root of the user's scope)."""
import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import User
from sqlalchemy.orm import relationship


class PlatformUser(User):
    __tablename__ = "ab_user"
    __table_args__ = {"extend_existing": True}
    unit_id = sa.Column(sa.Integer, sa.ForeignKey("unit.id"), index=True)
    unit = relationship("Unit")

    def get_full_name(self):
        # Chinese order: family name first, no space (姓 + 名)
        return f"{self.last_name or ''}{self.first_name or ''}"

"""Who acts, for the rules: an account's id, roles and the unit it is bound to; and the check that an
administrator acts on an instrument of its own subtree (the lab, its college, the school)."""
from dataclasses import dataclass

from flask_babel import lazy_gettext as _
import sqlalchemy as sa

from app.models import Instrument, Unit
from app.models.org import path_covers
from app.models.user import ADMIN_ROLES

from app.services.errors import PolicyDenied

DENIED_LAB = _("Only the instrument's own laboratory, college or school administrators can do this.")


@dataclass(frozen=True)
class Actor:
    """Who acts: account id, role names, and the unit it is bound to (level and path)."""

    user_id: int | None
    roles: frozenset
    unit_level: str | None = None
    unit_path: str | None = None
    scheduled: bool = False  # a scheduled task of the platform itself (no account; never from a request)

    @classmethod
    def of(cls, user):
        unit = getattr(user, "unit", None)
        return cls(user.id, frozenset(r.name for r in user.roles), unit.level if unit else None, unit.path if unit else None)

    @classmethod
    def scheduled_task(cls):
        """The platform's own scheduled work (the slot's end of the interlock): acts on every lab's behalf."""
        return cls(None, frozenset(), scheduled=True)

    def covers(self, unit_path: str) -> bool:
        return path_covers(self.unit_path, unit_path)

    @property
    def is_admin(self) -> bool:
        return bool(ADMIN_ROLES & self.roles)


def instrument_unit_path(session, instrument_id):
    with session.no_autoflush:
        return session.execute(
            sa.select(Unit.path).join(Instrument, Instrument.unit_id == Unit.id).where(Instrument.id == instrument_id)
        ).scalar()


def require_lab_side(session, actor: Actor, instrument_id):
    """The actor administers the instrument's lab, its college or the school (or is a scheduled task)."""
    if actor.scheduled:
        return
    if not actor.is_admin or not actor.covers(instrument_unit_path(session, instrument_id)):
        raise PolicyDenied("out_of_chain", DENIED_LAB)


class LabSides:
    """For a batch: whether the actor is the lab side of each instrument, asked once per instrument —
    None when it is, else the refusal's message."""

    def __init__(self, session, actor: Actor):
        self.session, self.actor, self.known = session, actor, {}

    def refusal(self, instrument_id):
        if instrument_id not in self.known:
            try:
                require_lab_side(self.session, self.actor, instrument_id)
                self.known[instrument_id] = None
            except PolicyDenied as refusal:
                self.known[instrument_id] = refusal.message
        return self.known[instrument_id]

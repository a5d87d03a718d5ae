"""Field rules for instruments, people and units (notice §(三)2: complete, valid records)."""
from flask_babel import lazy_gettext as _
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm.attributes import set_committed_value

from app.models import Instrument, InstrumentClass, Unit

from app.services.people import identifiers
from app.services.errors import RuleViolation

MSG_MOBILE = _("Enter an 11-digit mainland mobile number, e.g. 13800138000.")
MSG_PHONE = _("Enter a mobile number or a landline with area code, e.g. 0731-88880000.")
MSG_EMAIL = _("Enter a valid e-mail address, e.g. name@example.edu.cn.")
MSG_NEGATIVE = _("The amount cannot be negative.")
MSG_ACCEPTANCE = _("The acceptance date cannot be earlier than the purchase date.")
MSG_CLASS = _("Unknown classification code: use a 6-digit code from the national classification.")
MSG_ASSET = _("This asset number is already registered.")
MSG_SCOPE = _("You can only choose a unit within your own scope.")
MSG_RELATED_SCOPE = _("Choose among the records you may reach: within your own scope, and an approved, active account for a user.")
MSG_CYCLE = _("A unit cannot be placed under itself or one of its own sub-units.")
MSG_LEVEL = _("A laboratory sits under a college, and a college under the school.")


def check_mobile(value):
    if value and not identifiers.is_mobile(value):
        return MSG_MOBILE
    return None


def check_phone(value):
    """A published contact: a mobile or a landline with area code (and perhaps an extension)."""
    if value and not identifiers.is_phone(value):
        return MSG_PHONE
    return None


def check_email(value):
    if value and not identifiers.is_email(value):
        return MSG_EMAIL
    return None


def check_money(value):
    if value is not None and value < 0:
        return MSG_NEGATIVE
    return None


def check_dates(purchase, acceptance):
    if purchase and acceptance and acceptance < purchase:
        return MSG_ACCEPTANCE
    return None


def check_class_code(session, code):
    if not code:
        return None
    if not session.get(InstrumentClass, code.strip()):
        return MSG_CLASS
    return None


def check_asset_number(session, asset_number, own_id=None):
    if not asset_number:
        return None
    query = sa.select(Instrument.id).where(Instrument.asset_number == asset_number.strip())
    if own_id is not None:
        query = query.where(Instrument.id != own_id)
    if session.execute(query).first():
        return MSG_ASSET
    return None


def validate_instrument(session, item):
    """Every rule on an instrument; raises RuleViolation listing each failing field."""
    errors = {}
    for field, message in (
        ("original_value", check_money(item.original_value)),
        ("acceptance_date", check_dates(item.purchase_date, item.acceptance_date)),
        ("class_code", check_class_code(session, item.class_code)),
        ("asset_number", check_asset_number(session, item.asset_number, item.id)),
        ("contact_phone", check_phone(item.contact_phone)),
        ("contact_email", check_email(item.contact_email)),
    ):
        if message:
            errors[field] = message
    if errors:
        raise RuleViolation(errors)


def validate_person(item):
    errors = {}
    for field, message in (("mobile", check_mobile(item.mobile)), ("email", check_email(item.email))):
        if message:
            errors[field] = message
    if errors:
        raise RuleViolation(errors)


_PARENT_LEVEL = {"school": None, "college": "school", "lab": "college"}


def validate_unit_placement(session, unit, parent):
    """No cycles, then the level order (school > college > lab). The cycle is checked first: a
    unit placed under itself or its own sub-unit breaks the level order too, and the message
    should name the real mistake."""
    if parent is None:
        if unit.level != "school":
            raise RuleViolation({"parent": MSG_LEVEL})
        return
    if unit.id is not None and unit.covers(parent.path):
        raise RuleViolation({"parent": MSG_CYCLE})
    if _PARENT_LEVEL.get(unit.level) != parent.level:
        raise RuleViolation({"parent": MSG_LEVEL})


def refresh_unit_paths(connection, unit_id):
    """Recompute the materialised path of a unit and its whole subtree."""
    units = Unit.__table__
    row = connection.execute(sa.select(units.c.parent_id, units.c.path).where(units.c.id == unit_id)).first()
    if row is None:
        return
    parent_path = "/"
    if row.parent_id is not None:
        parent_path = connection.execute(sa.select(units.c.path).where(units.c.id == row.parent_id)).scalar() or "/"
    new_path = f"{parent_path}{unit_id}/"
    old_path = row.path
    if old_path == new_path:
        return new_path
    connection.execute(units.update().where(units.c.id == unit_id).values(path=new_path))
    if old_path:
        # descendants: swap the old prefix for the new one
        descendants = connection.execute(
            sa.select(units.c.id, units.c.path).where(units.c.path.startswith(old_path, autoescape=True), units.c.id != unit_id)
        ).all()
        for d in descendants:
            connection.execute(units.update().where(units.c.id == d.id).values(path=new_path + d.path[len(old_path):]))
    return new_path


def _unit_inserted(mapper, connection, target):
    # the path is written straight to the table; tell the object too, without marking it dirty
    set_committed_value(target, "path", refresh_unit_paths(connection, target.id))


def _unit_updated(mapper, connection, target):
    state = sa.inspect(target)
    if state.attrs.parent_id.history.has_changes() or state.attrs.parent.history.has_changes() or not target.path:
        set_committed_value(target, "path", refresh_unit_paths(connection, target.id))


def install():
    if not event.contains(Unit, "after_insert", _unit_inserted):
        event.listen(Unit, "after_insert", _unit_inserted)
        event.listen(Unit, "after_update", _unit_updated)

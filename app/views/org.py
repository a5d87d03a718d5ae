"""Units (the tree) and innovation platforms."""
from flask_babel import lazy_gettext as _
from wtforms import ValidationError

from app.extensions import db
from app.models import InnovationPlatform, Unit
from app.models.choices import PLATFORM_KIND, PLATFORM_LEVEL, UNIT_LEVEL
from app.services.upkeep import records
from app.services.errors import RuleViolation

from .base import ScopedModelApi, ScopedModelView, interface


def _parent_rule(form, field):
    unit = Unit(level=form.level.data)
    editing = getattr(form, "_id", None)
    if editing:
        existing = db.session.get(Unit, editing)
        unit.id, unit.path = existing.id, existing.path
    try:
        records.validate_unit_placement(db.session, unit, field.data)
    except RuleViolation as e:
        raise ValidationError(next(iter(e.errors.values()))) from e


def _validate_unit(session, item):
    records.validate_unit_placement(session, item, item.parent)


UNIT_LABELS = {
    "code": _("Unit code"),
    "name": _("Unit name"),
    "tree_name": _("Unit name"),
    "level": _("Level"),
    "parent": _("Parent unit"),
    "address": _("Address"),
    "remarks": _("Remarks"),
}


class UnitView(ScopedModelView):
    datamodel = interface(Unit)
    list_title = _("Units")
    show_title = _("Unit details")
    add_title = _("Add unit")
    edit_title = _("Edit unit")
    label_columns = UNIT_LABELS
    choice_columns = {"level": UNIT_LEVEL}
    list_columns = ["tree_name", "code", "level", "parent"]
    search_columns = ["code", "name", "level", "parent"]
    add_columns = edit_columns = ["code", "name", "level", "parent", "address", "remarks"]
    show_columns = ["code", "name", "level", "parent", "address", "remarks"]
    order_columns = ["code", "name", "level"]
    base_order = ("path", "asc")
    validators_columns = {"parent": [_parent_rule]}
    related_views = []  # filled in register(): the records each unit holds
    validate = staticmethod(_validate_unit)


class UnitApi(ScopedModelApi):
    resource_name = "unit"
    datamodel = interface(Unit)
    list_columns = ["id", "code", "name", "level", "parent.id", "parent.name"]
    show_columns = ["id", "code", "name", "level", "parent.id", "parent.name", "address", "remarks"]
    add_columns = edit_columns = ["code", "name", "level", "parent", "address", "remarks"]
    validate = staticmethod(_validate_unit)


PLATFORM_LABELS = {
    "name": _("Platform name"),
    "kind": _("Platform type"),
    "level": _("Platform level"),
    "unit": _("Unit"),
    "networked": _("Networked on the provincial platform"),
    "provincial_ref": _("Provincial platform reference"),
    "networked_on": _("Date networked"),
    "remarks": _("Remarks"),
}


class InnovationPlatformView(ScopedModelView):
    datamodel = interface(InnovationPlatform)
    list_title = _("Innovation platforms")
    show_title = _("Innovation platform details")
    add_title = _("Add innovation platform")
    edit_title = _("Edit innovation platform")
    label_columns = PLATFORM_LABELS
    choice_columns = {"kind": PLATFORM_KIND, "level": PLATFORM_LEVEL}
    list_columns = ["name", "kind", "level", "unit.name", "networked", "networked_on"]
    search_columns = ["name", "kind", "level", "unit", "networked"]
    add_columns = edit_columns = show_columns = [
        "name", "kind", "level", "unit", "networked", "provincial_ref", "networked_on", "remarks",
    ]
    label_columns = {**PLATFORM_LABELS, "unit.name": _("Unit")}


class InnovationPlatformApi(ScopedModelApi):
    resource_name = "platform"
    datamodel = interface(InnovationPlatform)
    list_columns = show_columns = ["id", "name", "kind", "level", "unit.id", "unit.name", "networked", "provincial_ref", "networked_on"]
    add_columns = edit_columns = ["name", "kind", "level", "unit", "networked", "provincial_ref", "networked_on", "remarks"]

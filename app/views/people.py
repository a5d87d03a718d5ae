"""Staff and training sessions."""
from flask_babel import lazy_gettext as _

from app.models import Person, TrainingSession
from app.models.choices import PERSON_DUTY, TRAINING_LEVEL
from app.services.upkeep import records

from .base import ScopedModelApi, ScopedModelView, interface
from .forms import field_rule

PERSON_LABELS = {
    "name": _("Name"),
    "unit": _("Unit"),
    "unit.name": _("Unit"),
    "post": _("Post"),
    "mobile": _("Mobile"),
    "email": _("E-mail"),
    "duty": _("Duty"),
    "remarks": _("Remarks"),
    "left_on": _("Left the school on"),
    "trainings": _("Training attended"),
}


def _validate_person(session, item):
    records.validate_person(item)


class PersonView(ScopedModelView):
    datamodel = interface(Person)
    list_title = _("People")
    show_title = _("Person details")
    add_title = _("Add person")
    edit_title = _("Edit person")
    show_template = "show_with_history.html"
    label_columns = PERSON_LABELS
    choice_columns = {"duty": PERSON_DUTY}
    list_columns = ["name", "unit.name", "post", "duty", "mobile", "email"]
    search_columns = ["name", "unit", "post", "duty", "mobile", "email"]
    add_columns = edit_columns = ["name", "unit", "post", "duty", "mobile", "email", "remarks", "left_on"]
    show_columns = ["name", "unit", "post", "duty", "mobile", "email", "remarks", "left_on", "trainings"]
    validators_columns = {
        "mobile": [field_rule(records.check_mobile)],
        "email": [field_rule(records.check_email)],
    }
    validate = staticmethod(_validate_person)


class PersonApi(ScopedModelApi):
    resource_name = "person"
    datamodel = interface(Person)
    list_columns = show_columns = ["id", "name", "unit.id", "unit.name", "post", "duty", "mobile", "email", "left_on"]
    add_columns = edit_columns = ["name", "unit", "post", "duty", "mobile", "email", "remarks", "left_on"]
    validate = staticmethod(_validate_person)


TRAINING_LABELS = {
    "level": _("Training level"),
    "unit": _("Organising unit"),
    "unit.name": _("Organising unit"),
    "held_on": _("Date held"),
    "topic": _("Topic"),
    "attendees": _("Attendees"),
}


class TrainingSessionView(ScopedModelView):
    datamodel = interface(TrainingSession)
    list_title = _("Training sessions")
    show_title = _("Training session details")
    add_title = _("Add training session")
    edit_title = _("Edit training session")
    label_columns = TRAINING_LABELS
    choice_columns = {"level": TRAINING_LEVEL}
    list_columns = ["held_on", "topic", "level", "unit.name"]
    search_columns = ["topic", "level", "unit", "held_on"]
    add_columns = edit_columns = show_columns = ["level", "unit", "held_on", "topic", "attendees"]
    base_order = ("held_on", "desc")


class TrainingSessionApi(ScopedModelApi):
    resource_name = "training"
    datamodel = interface(TrainingSession)
    list_columns = show_columns = ["id", "level", "unit.id", "unit.name", "held_on", "topic"]
    add_columns = edit_columns = ["level", "unit", "held_on", "topic", "attendees"]

"""IoT in the console: the terminal-status filter of instrument lists (the badge itself is a
list column, computed in the list's own query; see models/instrument.py)."""
from flask_appbuilder.models.filters import BaseFilter
from flask_babel import lazy_gettext as _

from app import clock
from app.models import InterlockCommand, IotRejection, IotTerminal
from app.models.choices import (DEVICE_STATE, INTERLOCK_ACTION, INTERLOCK_REASON, INTERLOCK_STATE, REJECTION_REASON,
                                TERMINAL_ADAPTER)
from app.services.iot import status as iot

from . import formatting
from .base import ScopedModelView, interface
from .formatting import offline_after


class FilterShownDeviceState(BaseFilter):
    """Instruments whose terminal shows the chosen state now, with the offline window applied."""

    name = _("Is")
    arg_name = "dst"

    def apply(self, query, value):
        if value not in DEVICE_STATE.codes:
            return query  # an empty or foreign choice filters nothing (the select offers only states)
        return query.filter(iot.shown_state_clause(value, clock.now(), offline_after()))


def add_device_state_filter(view, column="device_state"):
    """Register the filter on a list view's search (FAB's ModelView takes no custom search filters)."""
    instance = FilterShownDeviceState(column, view.datamodel)
    view._filters._search_filters[column] = [instance]
    view._filters._all_filters[column] = [instance]


# -- terminals and refused messages ------------------------------------------------------------

TERMINAL_LABELS = {
    "terminal_id": _("IoT terminal id"),
    "adapter": _("Terminal type"),
    "power_threshold_w": _("Power threshold (W)"),
    "bound_instrument": _("Instrument"),
    "device_status": _("Terminal status"),
    "first_seen": _("First heard"),
}


class IotTerminalView(ScopedModelView):
    """Every terminal the bridge has heard of, bound or not. A terminal is bound by entering its
    id on the instrument's record; unknown ones appear here (school only) until then."""

    datamodel = interface(IotTerminal)
    list_title = _("IoT terminals")
    show_title = _("IoT terminal")
    add_title = _("Add IoT terminal")
    edit_title = _("Edit IoT terminal")
    label_columns = TERMINAL_LABELS
    choice_columns = {"adapter": TERMINAL_ADAPTER}
    list_columns = ["terminal_id", "adapter", "bound_instrument", "device_status", "power_threshold_w", "first_seen"]
    show_columns = list_columns
    search_columns = ["terminal_id", "adapter"]
    order_columns = ["terminal_id", "adapter", "first_seen"]
    add_columns = ["terminal_id", "adapter", "power_threshold_w"]
    edit_columns = ["adapter", "power_threshold_w"]
    base_order = ("terminal_id", "asc")
    formatters_columns = {"device_status": formatting.device_badge, "first_seen": formatting.beijing_datetime}


class IotRejectionView(ScopedModelView):
    """Messages the bridge refused, per reason and terminal: read-only."""

    datamodel = interface(IotRejection)
    list_title = _("Refused IoT messages")
    show_title = _("Refused IoT messages")
    label_columns = {"reason": _("Reason"), "terminal_id": _("IoT terminal id"), "count": _("Count"),
                     "first_at": _("First refused"), "last_at": _("Last refused"), "last_detail": _("Last content")}
    choice_columns = {"reason": REJECTION_REASON}
    list_columns = show_columns = ["reason", "terminal_id", "count", "first_at", "last_at", "last_detail"]
    search_columns = ["reason", "terminal_id"]
    order_columns = ["reason", "terminal_id", "count", "last_at"]
    base_order = ("last_at", "desc")
    formatters_columns = {"first_at": formatting.beijing_datetime, "last_at": formatting.beijing_datetime}


class InterlockCommandView(ScopedModelView):
    """The power interlock's commands (the outbox the bridge publishes from), confirmed or not: read-only."""

    datamodel = interface(InterlockCommand)
    list_title = _("Plug commands")
    show_title = _("Plug command")
    label_columns = {"id": _("Command"), "instrument": _("Instrument"), "instrument.name": _("Instrument"),
                     "terminal_id": _("IoT terminal id"), "adapter": _("Terminal type"), "action": _("Command"),
                     "reason": _("Why"), "state": _("State"), "attempts": _("Times sent"), "created_at": _("Requested at"),
                     "sent_at": _("Last sent"), "confirmed_at": _("Confirmed at"), "booking": _("Booking"),
                     "usage": _("Use"), "requested_by": _("Requested by"), "detail": _("Plug's answer")}
    choice_columns = {"adapter": TERMINAL_ADAPTER, "action": INTERLOCK_ACTION, "reason": INTERLOCK_REASON,
                      "state": INTERLOCK_STATE}
    list_columns = ["created_at", "instrument.name", "terminal_id", "action", "reason", "state", "attempts", "confirmed_at"]
    show_columns = ["instrument", "terminal_id", "adapter", "action", "reason", "state", "attempts", "created_at",
                    "sent_at", "confirmed_at", "detail", "booking", "usage", "requested_by"]
    search_columns = ["instrument", "terminal_id", "state", "action", "created_at"]
    order_columns = ["created_at", "state", "attempts"]
    base_order = ("id", "desc")
    formatters_columns = {c: formatting.beijing_datetime for c in ("created_at", "sent_at", "confirmed_at")}

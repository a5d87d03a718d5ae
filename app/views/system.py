"""The system's own health, for the school: failed runs of background tasks (app/tasks.py)."""
from flask_babel import lazy_gettext as _

from app.models import TaskFailure

from . import formatting
from .base import ScopedModelView, interface


class TaskFailureView(ScopedModelView):
    """Every failed run of a background task, newest first; read-only (the queue retries by itself)."""

    datamodel = interface(TaskFailure)
    list_title = _("Background task failures")
    show_title = _("Background task failure")
    label_columns = {"failed_at": _("Failed at"), "task": _("Task"), "task_id": _("Task id"), "arguments": _("Arguments"),
                     "error": _("Error"), "traceback": _("Details"), "retries_left": _("Retries left")}
    description_columns = {"retries_left": _("0: the queue has given up on this run; otherwise it tries again.")}
    list_columns = ["failed_at", "task", "error", "retries_left"]
    show_columns = ["failed_at", "task", "task_id", "arguments", "error", "retries_left", "traceback"]
    search_columns = ["task", "error"]
    order_columns = ["failed_at", "task"]
    base_order = ("failed_at", "desc")
    formatters_columns = {"failed_at": formatting.beijing_datetime, "traceback": formatting.multiline}

"""The ledger import's dry run as a workbook (issue 23): every row with what it would do and why, and what the
reconciliation would find — through the one Excel writer."""
from flask_babel import gettext, lazy_gettext as _
import pandas as pd

from app.services.upkeep import ledger

from .excel import Sheet, wan_yuan, write_workbook

ACTION_LABELS = {"create": _("New"), "update": _("Changed"), "unchanged": _("Unchanged"), "refused": _("Refused")}
COMPARED_LABELS = {"value": ledger.FIELD_LABELS["value"], "model": ledger.FIELD_LABELS["model"], "unit": _("Unit"),
                   "location": ledger.FIELD_LABELS["location"], "purchase_date": ledger.FIELD_LABELS["purchase_date"]}


def _shown(value):
    return "" if value is None else str(value)


def _rows(plan):
    for outcome in plan.outcomes:
        if outcome.action == "refused":
            for refusal in outcome.refusals:
                yield outcome.row, outcome.asset_number, str(ACTION_LABELS["refused"]), refusal.column, refusal.message
        else:
            detail = "；".join(f"{ledger.FIELD_LABELS.get(name, name)}：{_shown(old)} → {_shown(new)}"
                              for name, (old, new) in outcome.changes.items() if name in ledger.FIELD_LABELS)
            yield outcome.row, outcome.asset_number, str(ACTION_LABELS[outcome.action]), "", detail


def dry_run_workbook(plan) -> bytes:
    rows = pd.DataFrame(list(_rows(plan)), columns=[gettext("Row"), gettext("Asset number"), gettext("Result"),
                                                    gettext("Column"), gettext("Reason or change")])
    found = plan.reconciliation
    candidates = pd.DataFrame(
        [(c["asset_number"], c.get("name") or "", c.get("model") or "", wan_yuan(c.get("value")), c.get("unit_name") or "",
          gettext("yes") if c["likely"] else "") for c in found.candidates],
        columns=[gettext("Asset number"), gettext("Name"), gettext("Model and specification"),
                 gettext("Original value (10k yuan)"), gettext("Department using it"), gettext("A likely record exists")])
    missing = pd.DataFrame([(m["asset_number"], m["name"], m["model"] or "", wan_yuan(m["original_value"]))
                            for m in found.missing],
                           columns=[gettext("Asset number"), gettext("Name"), gettext("Model and specification"),
                                    gettext("Original value (10k yuan)")])
    mismatches = pd.DataFrame([(m.asset_number, str(COMPARED_LABELS[m.field]), _shown(m.platform_value), _shown(m.ledger_value))
                               for m in found.mismatches],
                              columns=[gettext("Asset number"), gettext("Field"), gettext("On the platform"),
                                       gettext("In the ledger")])
    header = [(gettext("File"), plan.filename), (gettext("File digest"), plan.digest)]
    return write_workbook([
        Sheet(gettext("Rows"), gettext("Ledger import: dry run"), rows, header_fields=header,
              column_widths={gettext("Reason or change"): 60}),
        Sheet(gettext("Candidates"), gettext("Must be networked, not on the platform"), candidates,
              empty_note=gettext("None")),
        Sheet(gettext("Missing"), gettext("On the platform, not in the ledger"), missing, empty_note=gettext("None")),
        Sheet(gettext("Mismatches"), gettext("The platform and the ledger differ"), mismatches, empty_note=gettext("None")),
    ])


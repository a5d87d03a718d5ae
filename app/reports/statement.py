"""A statement (对账单) as a workbook through the one writer: the charges invoiced in the period with
their totals — invoiced, settled, owed — and, on a second sheet, the period's uses not invoiced yet
(app/services/money/statements.py decides which rows and figures)."""
from __future__ import annotations

from flask_babel import gettext
import pandas as pd

from app.models.choices import CHARGE_STATE, PAYMENT_METHOD
from app.services.money import statements

from .excel import Sheet, long_date, sign_off


def _frame(session, query, with_invoice: bool) -> pd.DataFrame:
    result = session.execute(query)
    frame = pd.DataFrame.from_records(iter(result), columns=list(result.keys()))
    states, methods = dict(CHARGE_STATE.select_choices()), dict(PAYMENT_METHOD.select_choices())
    columns = {
        gettext("No."): range(1, len(frame) + 1),
        gettext("Invoice date"): frame["invoice_date"].map(_iso) if with_invoice else None,
        gettext("Invoice number"): frame["invoice_number"].fillna("") if with_invoice else None,
        gettext("Day of use"): frame["used_on"].map(_iso),
        gettext("Instrument"): frame["instrument"],
        gettext("Asset number"): frame["asset_number"],
        gettext("Service user"): frame["user"].fillna(""),
        gettext("User organisation"): frame["org"].fillna(""),
        gettext("State"): frame["state"].map(lambda s: str(states.get(s, s))),
        gettext("Amount (yuan)"): frame["total"],
        gettext("Paid on"): frame["paid_on"].map(_iso) if with_invoice else None,
        gettext("Paid by"): frame["payment_method"].map(lambda m: str(methods.get(m, "")) if m else "")
        if with_invoice else None,
        gettext("Remarks"): [_remark(c, r) for c, r in zip(frame["credit_of_id"], frame["reason"])],
    }
    return pd.DataFrame({k: v for k, v in columns.items() if v is not None})


def _iso(day):
    return day.isoformat() if day is not None and not pd.isna(day) else ""


def _remark(credit_of_id, reason):
    text = reason if isinstance(reason, str) else ""
    if credit_of_id is not None and not pd.isna(credit_of_id):
        return gettext("Credit note of charge %(id)s: %(reason)s", id=int(credit_of_id), reason=text)
    return text


def statement_sheets(session, party: statements.Party, period: statements.Period, unit_ids, today) -> list:
    name = statements.party_name(session, party)
    figures = statements.totals(session, party, period, unit_ids)
    header = [(gettext("Statement of"), name), (gettext("Period"), f"{period.first.isoformat()} – {period.last.isoformat()}"),
              (gettext("Made on"), long_date(today))]
    amount = gettext("Amount (yuan)")
    invoiced = Sheet(
        name=gettext("Invoiced"), title=gettext("Statement of charges"), landscape=True, money_columns=(amount,),
        frame=_frame(session, statements.invoiced_rows(session, party, period, unit_ids), True), header_fields=header,
        footer_lines=[gettext("Invoiced: %(invoiced)s yuan    Settled: %(settled)s yuan    Owed: %(owed)s yuan",
                              invoiced=f"{figures.invoiced:,.2f}", settled=f"{figures.settled:,.2f}",
                              owed=f"{figures.owed:,.2f}"), sign_off()],
        empty_note=gettext("Nothing was invoiced in this period."))
    pending = Sheet(
        name=gettext("Not invoiced yet"), title=gettext("Uses of the period not invoiced yet"), landscape=True,
        money_columns=(amount,), frame=_frame(session, statements.open_rows(session, party, period, unit_ids), False),
        header_fields=header,
        footer_lines=[gettext("To be invoiced: %(amount)s yuan    Waived: %(waived)s yuan",
                              amount=f"{figures.not_invoiced:,.2f}", waived=f"{figures.waived:,.2f}")],
        empty_note=gettext("Every use of this period is invoiced."))
    return [invoiced, pending]


def file_name(session, party, period) -> str:
    return gettext("Statement %(name)s %(period)s.xlsx", name=statements.party_name(session, party), period=period.label)

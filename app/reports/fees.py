"""The published fee schedule as a report (the public download and `report fees` share it)."""
from datetime import date

import pandas as pd
from flask_babel import gettext, lazy_gettext as _
import sqlalchemy as sa
from sqlalchemy.orm import aliased

from app.models import FeeItem, FeePrice, Instrument, Unit
from app.models.choices import CUSTOMER_CATEGORY
from app.services.catalogue.entry import listable, standards_in_force

from .excel import Sheet
from .registry import report


def _tier(low, high):
    if high is None:
        return gettext("any quantity") if not low else gettext("%(low)s and above", low=int(low))
    return f"{int(low)}–{int(high)}"


def fee_schedule(session, on: date, unit_ids=None, instrument_ids=None) -> Sheet:
    """Every price of every standard in force on `on`, optionally within units or instruments."""
    in_force = standards_in_force(on).subquery()
    lab, college = aliased(Unit), aliased(Unit)
    query = (
        sa.select(college.name, Instrument.name, Instrument.model, Instrument.location, FeeItem.name,
                  FeeItem.billing_unit, FeePrice.customer_category, FeePrice.tier_min, FeePrice.tier_max,
                  FeePrice.unit_price, FeePrice.difference_reason)
        .join(in_force, in_force.c.instrument_id == Instrument.id)
        .join(FeeItem, FeeItem.standard_id == in_force.c.standard_id)
        .join(FeePrice, FeePrice.item_id == FeeItem.id)
        .join(lab, lab.id == Instrument.unit_id)
        .join(college, college.id == lab.parent_id)
        .where(listable())
        .order_by(college.code, Instrument.name, Instrument.id, FeeItem.id, FeePrice.customer_category, FeePrice.tier_min)
    )
    if unit_ids is not None:
        query = query.where(Instrument.unit_id.in_(unit_ids))
    if instrument_ids is not None:
        query = query.where(Instrument.id.in_(instrument_ids))
    columns = [gettext("College"), gettext("Instrument name"), gettext("Model and specification"), gettext("Location"),
               gettext("Fee item"), gettext("Billing unit"), gettext("Customer category"), gettext("Quantity tier"),
               gettext("Unit price (yuan)"), gettext("Remarks")]
    rows = [
        (c, name, model or "", location or "", item, unit, str(CUSTOMER_CATEGORY.label(category)), _tier(low, high),
         price, reason or "")
        for c, name, model, location, item, unit, category, low, high, price, reason in session.execute(query)
    ]
    frame = pd.DataFrame(rows, columns=columns)
    return Sheet(
        name=gettext("Fee schedule"),
        title=gettext("Published fee schedules of research facilities and instruments"),
        frame=frame,
        header_fields=[(gettext("In force on"), on.isoformat())],
        footer_lines=[gettext("Fees follow cost compensation and the non-profit principle; every charge is invoiced.")],
        landscape=True,
        money_columns=(gettext("Unit price (yuan)"),),
    )


@report("fees", _("Published fee schedules of research facilities and instruments"))
def fees_report(ctx):
    """The schedule in force at the end of the year (today, for the current year)."""
    return [fee_schedule(ctx.session, min(ctx.today, ctx.last_day), unit_ids=ctx.unit_ids)]

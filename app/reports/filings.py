"""The notice's annexes 2 and 3 (SPEC §4): the not-for-sharing filing list and the managing
unit's staff sheet, filled from the data in the scope of the report."""
from __future__ import annotations

from datetime import datetime, time

import pandas as pd
import sqlalchemy as sa
from flask_babel import gettext, lazy_gettext as _

from app.models import Instrument, Person, UnsuitableFiling
from app.models.choices import PERSON_DUTY, UNSUITABLE_CATEGORY

from .excel import BLANK, Sheet, long_date, wan_yuan
from .registry import report

CHECKED, UNCHECKED = "☑", "☐"


def _category_boxes(category):
    """The annex's type cell: every category with its box, the filed one ticked."""
    return "  ".join(f"{CHECKED if code == category else UNCHECKED}{label}" for code, label in UNSUITABLE_CATEGORY.pairs)


def _filer(ctx):
    person = ctx.liaison()
    return (person.name if person else BLANK), (person.mobile if person and person.mobile else BLANK)


@report("annex2", _("Annex 2 List of research facilities and instruments unsuitable for open sharing"))
def annex2(ctx):
    """Filings approved (filed) by the school within the year, for instruments in scope."""
    start, end = datetime.combine(ctx.first_day, time.min), datetime.combine(ctx.last_day, time.max)
    rows = ctx.session.execute(
        sa.select(Instrument.name, Instrument.model, Instrument.original_value, UnsuitableFiling.category,
                  UnsuitableFiling.reason, UnsuitableFiling.networked_at_filing, UnsuitableFiling.remarks)
        .join(Instrument, Instrument.id == UnsuitableFiling.instrument_id)
        .where(UnsuitableFiling.state == "filed", UnsuitableFiling.decided_at.between(start, end),
               ctx.in_scope(Instrument.unit_id))
        .order_by(UnsuitableFiling.decided_at, UnsuitableFiling.id)
    ).all()
    columns = [gettext("No."), gettext("Equipment name"), gettext("Model and specification"),
               gettext("Original value per set (10k yuan)"), gettext("Equipment type"),
               gettext("Specific reason it is unsuitable for open sharing"),
               gettext("Already on the provincial sharing platform"), gettext("Remarks")]
    frame = pd.DataFrame(
        [(i, name, model or "", wan_yuan(value), _category_boxes(category), reason,
          gettext("Yes") if networked else gettext("No"), remarks or "")
         for i, (name, model, value, category, reason, networked, remarks) in enumerate(rows, start=1)],
        columns=columns)
    filer, phone = _filer(ctx)
    return [Sheet(
        name=gettext("Annex 2"),
        title=gettext("List of research facilities and instruments unsuitable for open sharing"),
        frame=frame,
        header_fields=[(gettext("Filing unit (official seal)"), ctx.unit.name), (gettext("Filled in by"), filer),
                       (gettext("Filler's phone"), phone), (gettext("Date filled in"), long_date(ctx.today))],
        footer_lines=[
            gettext("Total equipment filed this time: %(count)s sets", count=len(frame)),
            gettext("Signature of the head of the department managing open sharing: %(blank)s", blank=BLANK)
            + "        " + gettext("Signature of the head of the unit: %(blank)s", blank=BLANK),
        ],
        landscape=True,
        money_columns=(columns[3],),
        empty_note=gettext("No filing was approved in %(year)s.", year=ctx.year),
    )]


ANNEX3_DUTIES = ("leader", "dept_head", "liaison")


@report("annex3", _("Annex 3 Staff information of the managing unit"))
def annex3(ctx):
    """分管领导, 归口管理部门负责人, 联络员 of the units in scope, in that order; a duty nobody
    holds keeps its (empty) row, as on the paper form."""
    people = ctx.session.execute(
        sa.select(Person.name, Person.post, Person.mobile, Person.email, Person.duty)
        .where(Person.duty.in_(ANNEX3_DUTIES), ctx.in_scope(Person.unit_id))
        .order_by(Person.unit_id, Person.id)
    ).all()
    rows = []
    for duty in ANNEX3_DUTIES:
        holders = [p for p in people if p.duty == duty] or [None]
        for p in holders:
            label = str(PERSON_DUTY.label(duty))
            rows.append((p.name, p.post or "", p.mobile or "", p.email or "", label) if p else ("", "", "", "", label))
    columns = [gettext("Full name"), gettext("Post"), gettext("Mobile"), gettext("E-mail"), gettext("Remarks")]
    filer, phone = _filer(ctx)
    return [Sheet(
        name=gettext("Annex 3"),
        title=gettext("Staff information of the managing unit"),
        frame=pd.DataFrame(rows, columns=columns),
        header_fields=[(gettext("Filing unit (seal)"), ctx.unit.name),
                       (gettext("Filled in by and contact"), f"{filer} {phone}" if phone != BLANK else filer)],
    )]

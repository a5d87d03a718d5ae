"""The provincial-platform upload file (SPEC §4): the national (NRII) record fields of every
instrument that is on, or must be on, the provincial platform, with the year's running and
service hours, and a flag on every record changed since its last upload (its fingerprint
differs from the one kept at upload: app/services/upkeep/record_checks.py)."""
from __future__ import annotations

import pandas as pd
import sqlalchemy as sa
from flask_babel import gettext, lazy_gettext as _

from app.models import FeeItem, FeePrice, Instrument, Person
from app.models.choices import CUSTOMER_CATEGORY, FUNDING_SOURCE, INSTRUMENT_KIND, RUN_STATUS, SHARING_STATUS
from app.services.upkeep import record_checks as rules
from app.services.catalogue.entry import standards_in_force

from .annual import usage_of_year
from .excel import Sheet, sign_off, wan_yuan
from . import units
from .registry import report
from .units import instruments_in_scope


def _fee_texts(ctx, on, instrument_ids):
    """Each instrument's prices in force, as one line of text per item (the NRII fee field)."""
    in_force = standards_in_force(on).subquery()
    rows = ctx.session.execute(
        sa.select(in_force.c.instrument_id, FeeItem.name, FeeItem.billing_unit, FeePrice.customer_category,
                  FeePrice.tier_min, FeePrice.unit_price)
        .join(FeeItem, FeeItem.standard_id == in_force.c.standard_id)
        .join(FeePrice, FeePrice.item_id == FeeItem.id)
        .where(in_force.c.instrument_id.in_(sa.select(sa.literal_column("id")).select_from(instrument_ids)))
        .order_by(in_force.c.instrument_id, FeeItem.id,
                  sa.case({code: i for i, code in enumerate(CUSTOMER_CATEGORY.codes)}, value=FeePrice.customer_category),
                  FeePrice.tier_min)
    )
    texts = {}
    for r in rows:
        price = gettext("%(category)s %(price)s yuan per %(unit)s", category=CUSTOMER_CATEGORY.label(r.customer_category),
                        price=f"{r.unit_price:.2f}", unit=r.billing_unit)
        texts.setdefault(r.instrument_id, {}).setdefault(r.name, []).append(price)
    return {i: "；".join(f"{item}：{'，'.join(prices)}" for item, prices in items.items()) for i, items in texts.items()}


@report("provincial", _("Provincial sharing platform upload file"))
def provincial(ctx):
    on = min(ctx.today, ctx.last_day)
    usage = usage_of_year(ctx)
    record = [Instrument.__table__.c[c] for c in rules.NATIONAL_RECORD_COLUMNS]
    query = instruments_in_scope(
        sa.select(*record, Instrument.id, Instrument.networked, Instrument.provincial_ref, Instrument.sync_fingerprint,
                  Person.name.label("responsible_name"), units.lab_name(), units.college_name(),
                  sa.func.coalesce(usage.c.effective_hours, 0).label("running_hours"),
                  sa.func.coalesce(usage.c.external_hours, 0).label("service_hours"))
        .outerjoin(Person, Person.id == Instrument.responsible_person_id)
        .outerjoin(usage, usage.c.instrument_id == Instrument.id)
        .where(sa.or_(Instrument.networked, rules.must_network())), ctx)
    records = [dict(r._mapping) for r in ctx.session.execute(query)]
    ids = sa.select(Instrument.id).where(ctx.in_scope(Instrument.unit_id)).subquery()
    fees = _fee_texts(ctx, on, ids)
    columns = [gettext("No."), gettext("Changed since the last upload"), gettext("Provincial reference"),
               gettext("Instrument name"), gettext("English name"), gettext("Inner id (asset number)"),
               gettext("Classification code"), gettext("Discipline"), gettext("Location"),
               gettext("Original value per set (10k yuan)"), gettext("Funding source"), gettext("Equipment kind"),
               gettext("Country of manufacture"),
               gettext("Model and specification"), gettext("Manufacturer"), gettext("Purchase date"),
               gettext("Main technical indicators"), gettext("Main functions"), gettext("Sharing requirement"),
               gettext("Fee standard"), gettext("Service content"), gettext("Duty-free import"),
               gettext("Customs declaration number"), gettext("End of customs supervision"),
               gettext("Annual running hours"), gettext("Annual service hours"), gettext("Department"),
               gettext("Contact person"), gettext("Contact phone"), gettext("E-mail"), gettext("Run status")]
    yes, no = gettext("Yes"), gettext("No")
    rows = [(
        i, yes if r["sync_fingerprint"] != rules.national_fingerprint(r) else no, r["provincial_ref"] or "",
        r["name"], r["name_en"] or "", r["asset_number"], r["class_code"] or "", r["discipline"] or "",
        r["location"] or "", wan_yuan(r["original_value"]), str(FUNDING_SOURCE.label(r["funding_source"])),
        str(INSTRUMENT_KIND.label(r["kind"])), r["country"] or "", r["model"] or "", r["manufacturer"] or "",
        r["purchase_date"].isoformat() if r["purchase_date"] else "", r["technical_indicators"] or "",
        r["main_functions"] or "", str(SHARING_STATUS.label(r["sharing_status"])), fees.get(r["id"], ""),
        r["service_scope"] or "", yes if r["duty_free"] else no, r["customs_declaration_no"] or "",
        r["supervision_end"].isoformat() if r["supervision_end"] else "", r["running_hours"], r["service_hours"],
        f"{r['college_name']} {r['lab_name']}" if r["college_name"] != r["lab_name"] else r["lab_name"],
        r["responsible_name"] or "", r["contact_phone"] or "", r["contact_email"] or "",
        str(RUN_STATUS.label(r["run_status"])),
    ) for i, r in enumerate(records, start=1)]
    frame = pd.DataFrame(rows, columns=columns)
    changed = sum(1 for r in rows if r[1] == yes)
    return [Sheet(
        name=gettext("Upload"), title=gettext("Provincial sharing platform upload file"), frame=frame,
        header_fields=[(gettext("Filing unit"), ctx.unit.name), (gettext("Report year"), ctx.year),
                       (gettext("Records changed since the last upload"), changed)],
        landscape=True, money_columns=(columns[9],), pages_wide=3, repeat_columns=4,  # 31 columns: three pages wide
        column_widths={columns[16]: 30, columns[17]: 30, columns[19]: 40, columns[20]: 30},
        empty_note=gettext("No instrument is or must be on the provincial platform."), footer_lines=[sign_off()],
    )]

"""Annex 1 自查整改情况表 (SPEC §4): the five self-check rows filled from the data, in the annex's
own wording, with the records behind each finding on sheets of their own.

The findings describe the records as they stand on the report day (today, or 31 December for a
past year): the platform keeps the current record, not a snapshot per year.
"""
from __future__ import annotations

from datetime import timedelta

import pandas as pd
import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext, lazy_gettext as _

from app import clock
from app.models import InnovationPlatform, Instrument, Unit
from app.services.upkeep import contacts, deadlines, quality, reconciliation, record_checks as rules, self_checks
from app.services.upkeep.self_checks import Terms
from app.services.workdays import load_calendar

from .excel import BLANK, Sheet, long_date, wan_yuan
from . import units
from .registry import report
from .units import instruments_in_scope

PROVINCIAL_PLATFORM_KINDS = ("provincial_lab", "key_lab", "tech_innovation_center", "field_station", "clinical_center")


def field_label(code):
    return {
        "name": gettext("Field: name"), "model": gettext("Field: model"),
        "original_value": gettext("Field: original value"), "purchase_date": gettext("Field: purchase date"),
        "technical_indicators": gettext("Field: main technical indicators"), "location": gettext("Field: location"),
        "responsible_person": gettext("Field: responsible person"), "contact": gettext("Field: valid contact"),
        "fee_standard": gettext("Field: fee standard"), "service_scope": gettext("Field: service scope"),
    }[code]


def implausible_label(field, reason):
    """Chinese for one implausible field (record_checks.implausible_fields)."""
    return {("model", "placeholder"): gettext("model written as a placeholder"),
            ("original_value", "zero"): gettext("original value of 0"),
            ("purchase_date", "future"): gettext("purchase date in the future"),
            ("technical_indicators", "short"): gettext("indicators of a few characters"),
            ("responsible_person", "left"): gettext("responsible person has left"),
            ("contact", "phone_invalid"): gettext("phone number that does not exist in the numbering plan")}[field, reason]


CHECKLIST_LABELS = {"run_status": _("Run status"), "location": _("Location"), "contact": _("Contact"),
                    "fee_standard": _("Fee standard"), "indicators": _("Main technical indicators")}


def _contact_label(code):
    return {"vacant": gettext("found by a call: number does not exist"),
            "suspended": gettext("found by a call: out of service"),
            "wrong_person": gettext("found by a call: not the person"), "no_contact": gettext("no contact published"),
            "phone_malformed": gettext("malformed phone number"),
            "email_malformed": gettext("malformed e-mail"),
            "unverified": gettext("not verified within the last quarter")}[code]


def _percent(part, whole):
    return "100%" if not whole else f"{part * 100 / whole:.0f}%"


def instrument_records(ctx, as_of):
    """Every instrument in scope as a record dict: the national record fields, the rule inputs, its unit and terminal."""
    rule_columns, with_rule_inputs = quality.rule_inputs(as_of)
    calls = contacts.latest_calls()
    columns = [Instrument.__table__.c[c] for c in rules.NATIONAL_RECORD_COLUMNS] + [
        calls.c.result.label("call_result"), calls.c.phone.label("call_phone"),
        Instrument.id, Instrument.networked, Instrument.acceptance_date, Instrument.contact_verified_on,
        Instrument.sync_fingerprint, Instrument.province_changed_at, Instrument.iot_terminal_id,
    ]
    query = instruments_in_scope(
        with_rule_inputs(sa.select(*columns, units.lab_name(), units.college_name(), *rule_columns,
                                   rules.must_network().label("must_network")))
        .outerjoin(calls, calls.c.instrument_id == Instrument.id), ctx)
    return [dict(r._mapping) for r in ctx.session.execute(query)]


def _listing(rows, extra_column):
    columns = [gettext("No."), gettext("College"), gettext("Laboratory"), gettext("Asset number"),
               gettext("Instrument name"), gettext("Model and specification"), gettext("Original value per set (10k yuan)"),
               extra_column]
    frame = pd.DataFrame([(i, r["college_name"], r["lab_name"], r["asset_number"], r["name"], r["model"] or "",
                           wan_yuan(r["original_value"]), detail) for i, (r, detail) in enumerate(rows, start=1)],
                         columns=columns)
    return frame, columns


@report("annex1", _("Annex 1 Self-check and rectification of open sharing"))
def annex1(ctx):
    as_of = min(ctx.today, ctx.last_day)
    calendar = load_calendar(ctx.session)
    records = instrument_records(ctx, as_of)

    # 1. every instrument that must be networked is networked
    due = [r for r in records if r["must_network"]]
    missing = [r for r in due if not r["networked"]]
    not_networked_rows, new, overdue = [], 0, 0  # listed in the ledger's order
    for r in missing:
        deadline = deadlines.networking_due(calendar, r["acceptance_date"])
        if deadline is not None and as_of <= deadline.day:
            new += 1
            not_networked_rows.append((r, gettext("newly accepted; to join by %(day)s", day=deadline.day.isoformat())))
        else:
            overdue += 1
            not_networked_rows.append((r, gettext("overdue (%(days)s working days after acceptance)",
                                                  days=rules.JOIN_WITHIN_WORKING_DAYS)))
    # …and every asset of the finance office's ledger that must be is on the platform at all (the reconciliation)
    found = reconciliation.reconcile(ctx.session, ctx.unit_ids)
    candidates = found.candidates
    unit_names = dict(ctx.session.execute(sa.select(Unit.id, Unit.name)).all()) if candidates else {}
    not_networked_rows += [({"college_name": "", "lab_name": unit_names.get(c["unit_id"], c["unit_name"] or ""),
                             "asset_number": c["asset_number"], "name": c["name"] or "", "model": c["model"],
                             "original_value": c["value"]}, gettext("in the asset ledger, not on the platform"))
                           for c in candidates]
    networked_due, owed = len(due) - len(missing), len(due) + len(candidates)
    problems1 = []
    if missing:
        problems1.append(gettext(
            "%(count)s not on the platform: %(new)s newly accepted and still within %(days)s working days, "
            "%(overdue)s past the deadline (see the sheet of instruments not networked).",
            count=len(missing), new=new, overdue=overdue, days=rules.JOIN_WITHIN_WORKING_DAYS))
    if candidates:
        problems1.append(gettext("Checked against the asset ledger: %(count)s more in the ledger that must be networked "
                                 "have no record on the platform yet.", count=len(candidates)))
    row1 = (gettext("This unit should place %(due)s instruments on the provincial sharing platform; %(done)s are on it, "
                    "completion %(rate)s.", due=owed, done=networked_due, rate=_percent(networked_due, owed)),
            "".join(problems1) or gettext("No problem found"))

    # 2. provincial and national innovation platforms are networked
    platforms = ctx.session.execute(
        sa.select(InnovationPlatform.name, InnovationPlatform.networked)
        .where(InnovationPlatform.kind.in_(PROVINCIAL_PLATFORM_KINDS),
               InnovationPlatform.level.in_(("national", "provincial")), ctx.in_scope(InnovationPlatform.unit_id))
        .order_by(InnovationPlatform.name)).all()
    not_networked = [p.name for p in platforms if not p.networked]
    row2 = (gettext("This unit has %(count)s innovation platforms at provincial level or above; %(done)s are on the "
                    "provincial sharing platform.", count=len(platforms), done=len(platforms) - len(not_networked)),
            gettext("No problem found") if not not_networked else gettext("Not networked: %(names)s", names="、".join(not_networked)))

    # 3. every networked record has the ten fields, each plausible
    networked = [r for r in records if r["networked"]]
    checked3 = [(r, rules.missing_fields(r), [pair for pair in rules.implausible_fields(r, as_of) if pair[0] != "contact"])
                for r in networked]  # the contact is row 4's
    incomplete = [(r, m, i) for r, m, i in checked3 if m or i]
    by_field = {f: sum(f in m for _r, m, _i in incomplete) for f in rules.REQUIRED_FIELDS}
    by_reason = {}
    for _r, _m, found in incomplete:
        for pair in found:
            by_reason[pair] = by_reason.get(pair, 0) + 1
    details = ([gettext("%(field)s missing on %(n)s", field=field_label(f), n=n) for f, n in by_field.items() if n]
               + [gettext("%(what)s on %(n)s", what=implausible_label(*pair), n=n) for pair, n in by_reason.items()])
    row3 = (gettext("%(count)s networked instruments checked one by one; %(complete)s complete, rate %(rate)s.",
                    count=len(networked), complete=len(networked) - len(incomplete),
                    rate=_percent(len(networked) - len(incomplete), len(networked))),
            gettext("No problem found") if not incomplete else gettext(
                "%(count)s incomplete: %(detail)s.", count=len(incomplete), detail="，".join(details)))

    # 4. published contacts are well-formed and confirmed
    checked = [(r, rules.contact_problems(r["contact_phone"], r["contact_email"], r["contact_verified_on"], as_of,
                                          contacts.dead_call(r["call_result"], r["call_phone"], r["contact_phone"])))
               for r in networked]
    bad_contacts = [(r, p) for r, p in checked if p]
    calls = contacts.calls_summary(ctx.session, ctx.unit_ids, clock.start_of(as_of - timedelta(days=rules.CONTACT_REVIEW_DAYS)),
                                   clock.start_of(as_of + timedelta(days=1)))
    calls_text = "" if not calls["calls"] else gettext(
        "Calls within the quarter: %(calls)s (reachable %(reachable)s, number does not exist %(vacant)s, out of service "
        "%(suspended)s, not the person %(wrong)s, no answer %(no_answer)s); %(dead)s dead contacts found, %(corrected)s "
        "corrected.", calls=calls["calls"], dead=calls["dead"], corrected=calls["corrected"],
        reachable=calls["by_result"]["reachable"], vacant=calls["by_result"]["vacant"],
        suspended=calls["by_result"]["suspended"], wrong=calls["by_result"]["wrong_person"],
        no_answer=calls["by_result"]["no_answer"])
    row4 = (gettext("%(count)s published contacts checked; %(good)s well-formed and verified within the quarter.",
                    count=len(networked), good=len(networked) - len(bad_contacts)) + calls_text,
            gettext("No problem found") if not bad_contacts else gettext(
                "%(count)s contacts to rectify: %(detail)s.", count=len(bad_contacts),
                detail="，".join(f"{_contact_label(code)} {n}" for code in ("vacant", "suspended", "wrong_person", "no_contact",
                                                                          "phone_malformed", "email_malformed", "unverified")
                                for n in [sum(code in p for _r, p in bad_contacts)] if n)))

    # 5. fee published, status plausible, changes uploaded within 5 working days
    accuracy = []
    for r in networked:
        problems = []
        if not r["has_fee_standard"] and r["sharing_status"] != "unsuitable":
            problems.append(gettext("fee standard not published"))
        if r["run_status"] in ("to_scrap", "scrapped"):
            problems.append(gettext("marked scrapped or to be scrapped while networked"))
        if r["sync_fingerprint"] != rules.national_fingerprint(r) and r["province_changed_at"] is not None:
            deadline = deadlines.change_due(calendar, r["province_changed_at"])
            if as_of > deadline.day:
                problems.append(gettext("changed on %(day)s, not uploaded within %(days)s working days",
                                        day=clock.local_date(r["province_changed_at"]).isoformat(),
                                        days=rules.UPDATE_WITHIN_WORKING_DAYS))
        if problems:
            accuracy.append((r, "；".join(problems)))
    checks = self_checks.year_summary(ctx.session, ctx.unit_ids, ctx.year, as_of, Terms.of(current_app.config))
    checks_text = "" if not checks["due"] else gettext(
        "Monthly self-checks due this year %(due)s, signed off %(done)s, rate %(rate)s; quarterly reviews due "
        "%(reviews_due)s, signed off %(reviews_done)s.", due=checks["due"], done=checks["done"],
        rate=_percent(checks["done"], checks["due"]), reviews_due=checks["reviews_due"],
        reviews_done=checks["reviews_done"])
    corrected = [(name, n) for name, n in checks["corrected"].items() if n]
    if corrected:
        checks_text += gettext("Corrected in the self-checks: %(detail)s.", detail="，".join(
            gettext("%(item)s: %(n)s items", item=CHECKLIST_LABELS[name], n=n) for name, n in corrected))
    row5 = (gettext("%(count)s networked instruments checked; %(good)s accurate and current.",
                    count=len(networked), good=len(networked) - len(accuracy)) + checks_text,
            gettext("No problem found") if not accuracy else gettext("%(count)s records to rectify (see the accuracy sheet).",
                                                         count=len(accuracy)))

    columns = [gettext("No."), gettext("Self-check category"), gettext("Specific check"),
               gettext("Check standard (work requirement)"), gettext("Self-check and rectification"),
               gettext("Problems found"), gettext("Next steps"), gettext("Remarks")]
    group1 = gettext("I. Resource inventory and platform networking check")
    group2 = gettext("II. Dynamic update check of networked information")
    frame = pd.DataFrame([
        (1, group1, gettext("Networking of facilities and instruments of 300,000 yuan and above"),
         gettext("ANNEX1_STANDARD_1"), *row1, "", gettext("Check the equipment ledger one by one")),
        (2, "", gettext("Networking of innovation platforms at provincial level and above"),
         gettext("ANNEX1_STANDARD_2"), *row2, "", gettext("Check against the list of all innovation platforms")),
        (3, group2, gettext("Completeness of basic information of networked instruments"),
         gettext("ANNEX1_STANDARD_3"), *row3, "", gettext("Verify every field of every instrument")),
        (4, "", gettext("Validity of contact details"), gettext("ANNEX1_STANDARD_4"), *row4, "",
         gettext("Verify every number by phone")),
        (5, "", gettext("Accuracy of equipment information"), gettext("ANNEX1_STANDARD_5"), *row5, "",
         gettext("Check the equipment on site against the platform")),
    ], columns=columns)
    filer = ctx.liaison()
    main = Sheet(
        name=gettext("Annex 1"), title=gettext("Self-check and rectification of open sharing of research facilities and "
                                               "instruments in Hunan Province"),
        frame=frame,
        header_fields=[(gettext("Filing unit"), ctx.unit.name), (gettext("Date filled in"), long_date(ctx.today)),
                       (gettext("Filled in by"), filer.name if filer else BLANK)],
        footer_lines=[gettext("Signature of the reviewer: %(blank)s", blank=BLANK) + "        "
                      + gettext("Official seal of the unit: %(blank)s", blank=BLANK),
                      gettext("ANNEX1_NOTE")],
        landscape=True,
        column_widths={columns[0]: 6, columns[1]: 14, columns[2]: 16, columns[3]: 36, columns[4]: 30, columns[5]: 30,
                       columns[6]: 14, columns[7]: 14},
    )
    sheets = [main]
    for name, title, rows, extra in (
        (gettext("Not networked"), gettext("Instruments that must be networked but are not"), not_networked_rows,
         gettext("Situation")),
        (gettext("Incomplete fields"), gettext("Networked instruments with missing fields"),
         [(r, "、".join([field_label(f) for f in m] + [implausible_label(*pair) for pair in i])) for r, m, i in incomplete],
         gettext("Missing fields")),
        (gettext("Contacts"), gettext("Published contacts to rectify"),
         [(r, "、".join(_contact_label(p) for p in ps)) for r, ps in bad_contacts], gettext("Problem")),
        (gettext("Accuracy"), gettext("Records with inaccurate or outdated information"), accuracy, gettext("Problem")),
    ):
        listing, listing_columns = _listing(rows, extra)
        sheets.append(Sheet(name=name, title=title, frame=listing, header_fields=[(gettext("Filing unit"), ctx.unit.name)],
                            landscape=True, money_columns=(listing_columns[6],),
                            empty_note=gettext("Nothing to rectify.")))
    return sheets

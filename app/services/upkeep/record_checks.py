"""The notice's record rules (SPEC §2, notice §(二)–(三)): which instruments must be on the
provincial platform, which of the ten required fields a record misses, whether its published
contact is usable, and whether a changed record has been uploaded again in time.

Pure functions and SQL clauses; the self-check report (app/reports/selfcheck.py) and, later,
the compliance screens call them alike.
"""
from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from app.models import Instrument, UnsuitableFiling

from app.services.people import identifiers

MUST_NETWORK_MIN_VALUE = Decimal("300000")  # Art. 2-3: single-set original value
JOIN_WITHIN_WORKING_DAYS = 30  # Art. 14: after installation acceptance
UPDATE_WITHIN_WORKING_DAYS = 5  # notice §(三)3: after any change
CONTACT_REVIEW_DAYS = 92  # a contact not confirmed within a quarter (the quarterly review) is unverified

# the ten fields of notice §(三)2, in its order
REQUIRED_FIELDS = ("name", "model", "original_value", "purchase_date", "technical_indicators", "location",
                   "responsible_person", "contact", "fee_standard", "service_scope")



def must_network():
    """Fiscally funded, ≥ 300,000 CNY, not scrapped, and not covered by an approved filing
    (classified or excluded by law: annex 2)."""
    filed = sa.select(UnsuitableFiling.id).where(UnsuitableFiling.instrument_id == Instrument.id,
                                                 UnsuitableFiling.state == "filed")
    return sa.and_(Instrument.funding_source.in_(("fiscal_full", "fiscal_partial")),
                   Instrument.original_value >= MUST_NETWORK_MIN_VALUE,
                   Instrument.in_service, ~sa.exists(filed))


def _blank(value):
    return value is None or (isinstance(value, str) and not value.strip())


def missing_fields(record: dict) -> list:
    """The required fields a record leaves empty. `record` holds the instrument's columns plus
    `has_fee_standard` (a published standard in force)."""
    missing = [f for f in ("name", "model", "original_value", "purchase_date", "technical_indicators", "location",
                           "service_scope") if _blank(record.get(f))]
    if record.get("responsible_person_id") is None:
        missing.append("responsible_person")
    if _blank(record.get("contact_phone")) and _blank(record.get("contact_email")):
        missing.append("contact")
    if not record.get("has_fee_standard"):
        missing.append("fee_standard")
    return sorted(missing, key=REQUIRED_FIELDS.index)


# a model written as a placeholder, not a model
PLACEHOLDERS = frozenset({"无", "暂无", "不详", "未知", "-", "--", "—", "/", "n/a", "na", "none", "null", "0"})
MIN_INDICATOR_CHARS = 10  # fewer characters than this are not the main technical indicators of an instrument


def implausible_fields(record: dict, today: date) -> list:
    """(field, reason) for each required field filled with something that cannot be true: a placeholder model, a
    value of 0, a purchase date after today, indicators of a few characters, a phone no mainland number has, a
    responsible person who has left. `record` holds the instrument's columns plus `responsible_left_on`."""
    found = []
    model = (record.get("model") or "").strip()
    if model and model.lower() in PLACEHOLDERS:
        found.append(("model", "placeholder"))
    value = record.get("original_value")
    if value is not None and value <= 0:
        found.append(("original_value", "zero"))
    purchased = record.get("purchase_date")
    if purchased is not None and purchased > today:
        found.append(("purchase_date", "future"))
    indicators = "".join((record.get("technical_indicators") or "").split())
    if indicators and len(indicators) < MIN_INDICATOR_CHARS:
        found.append(("technical_indicators", "short"))
    left = record.get("responsible_left_on")
    if record.get("responsible_person_id") is not None and left is not None and left <= today:
        found.append(("responsible_person", "left"))
    phone = (record.get("contact_phone") or "").strip().replace(" ", "")
    if phone and not identifiers.is_phone(phone):
        found.append(("contact", "phone_invalid"))
    return found


def contact_problems(phone, email, verified_on, as_of: date, dead: str | None = None) -> list:
    """What makes a published contact unusable: malformed phone or e-mail, none at all, not confirmed within
    the last quarter, or found dead by a call not yet corrected (`dead`: the call's result, contacts.dead_call)."""
    problems = [dead] if dead else []
    phone = (phone or "").strip().replace(" ", "")
    email = (email or "").strip()
    if not phone and not email:
        problems.append("no_contact")
    if phone and not identifiers.is_phone(phone):
        problems.append("phone_malformed")
    if email and not identifiers.is_email(email):
        problems.append("email_malformed")
    if verified_on is None or verified_on < as_of - timedelta(days=CONTACT_REVIEW_DAYS):
        problems.append("unverified")
    return problems


# the national record's fields (SPEC §4, the provincial upload) that an edit can change; the
# yearly hours are computed, not edited, so they are not part of it
NATIONAL_RECORD_COLUMNS = (
    "name", "name_en", "asset_number", "class_code", "discipline", "location", "original_value", "funding_source",
    "kind", "country", "model", "manufacturer", "purchase_date", "technical_indicators", "main_functions",
    "sharing_status", "public_standard_id", "service_scope", "duty_free", "customs_declaration_no", "supervision_end",
    "unit_id", "responsible_person_id", "contact_phone", "contact_email", "run_status",
)


def national_fingerprint(record: dict) -> str:
    """A digest of the record as the province holds it: differs from `sync_fingerprint` exactly
    when something was changed after the last upload."""
    def plain(v):
        return str(v) if isinstance(v, (Decimal, date)) else v

    payload = json.dumps([plain(record.get(c)) for c in NATIONAL_RECORD_COLUMNS], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()

"""Service contracts with outside users (Art. 16, issue 13 item 7).

An outside user's organisation (any category but 校内) needs a valid contract with the instrument's
lab — or with its college or the school, which cover every lab below them — before the lab can
schedule its booking. Where the school's configuration lets the standard terms apply
(BOOKING["standard_terms"]), an outside user without a contract accepts them when it books, and the
booking records when; the lab may then schedule it.

The scanned contract is a PDF (checked by its content, not its name), at most CONTRACT_MAX_BYTES,
stored under instance/contracts/ by a random name — outside the web root, read back only through a
scoped download.
"""
from __future__ import annotations

import hashlib
import os
import secrets
from datetime import date, datetime
from pathlib import Path

from flask_babel import lazy_gettext as _
import sqlalchemy as sa

from app.models import Booking, CustomerOrg, Instrument, ServiceContract, ServiceUser, Unit

from app.services.errors import PolicyDenied, RuleViolation

MSG_NOT_PDF = _("The file is not a PDF: upload the scanned contract as a PDF document.")
MSG_EMPTY = _("The file is empty.")
MSG_ACCEPT_TERMS = _("Your organisation has no service contract with this laboratory: accept the standard service "
                     "terms to book.")
DENIED_NO_CONTRACT = _("This outside user's organisation has no valid service contract with the laboratory, its "
                       "college or the school, and has not accepted the standard terms: sign a contract first.")
MSG_VALIDITY = _("The end of validity must not be before its start.")


def is_outside(user: ServiceUser) -> bool:
    return user.org is not None and user.org.category != "campus"


def check_pdf(data: bytes, max_bytes: int):
    """A Chinese message when `data` is not an acceptable contract scan; None when it is."""
    if not data:
        return MSG_EMPTY
    if len(data) > max_bytes:
        return _("The file is larger than %(mb)s MB.", mb=round(max_bytes / 1024 / 1024, 1))
    # a PDF starts with its header within the first KiB and ends with an end-of-file marker
    if b"%PDF-" not in data[:1024] or b"%%EOF" not in data[-2048:]:
        return MSG_NOT_PDF
    return None


def uploaded_name(name, fallback="scan.pdf") -> str:
    """An uploaded file's name as it is kept and offered back: printable characters only (a NUL or a lone
    surrogate in a name is the browser's or an attacker's, and PostgreSQL refuses to store it), 200 at most."""
    kept = "".join(ch for ch in (name or "") if ch.isprintable() and not 0xD800 <= ord(ch) <= 0xDFFF).strip()
    return kept[-200:] or fallback


def store_pdf(folder: Path, data: bytes) -> tuple[str, str]:
    """Write the scan under a random name; returns (stored name, SHA-256)."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}.pdf"
    path = folder / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return name, hashlib.sha256(data).hexdigest()


def stored_path(folder: Path, contract: ServiceContract) -> Path | None:
    if not contract.file_path or "/" in contract.file_path or "\\" in contract.file_path:
        return None
    path = folder / contract.file_path
    return path if path.is_file() else None


def validate(session, contract: ServiceContract):
    errors = {}
    if contract.valid_from and contract.valid_until and contract.valid_until < contract.valid_from:
        errors["valid_until"] = MSG_VALIDITY
    org = contract.org or (session.get(CustomerOrg, contract.org_id) if contract.org_id else None)
    if org is not None and org.category == "campus":
        errors["org"] = _("On-campus users need no service contract.")
    if errors:
        raise RuleViolation(errors)


def valid_contract(session, org_id, instrument_id, day: date) -> ServiceContract | None:
    """The organisation's contract covering the instrument's lab on `day`: signed, within its validity,
    with the lab itself or one of its ancestors (the newest first)."""
    lab_path = session.execute(sa.select(Unit.path).join(Instrument, Instrument.unit_id == Unit.id)
                               .where(Instrument.id == instrument_id)).scalar()
    if lab_path is None or org_id is None:
        return None
    signer = sa.orm.aliased(Unit)
    query = (sa.select(ServiceContract).join(signer, signer.id == ServiceContract.unit_id)
             .where(ServiceContract.org_id == org_id, ServiceContract.signed_on.isnot(None),
                    signer.covers(lab_path),
                    sa.or_(ServiceContract.valid_from.is_(None), ServiceContract.valid_from <= day),
                    sa.or_(ServiceContract.valid_until.is_(None), ServiceContract.valid_until >= day))
             .order_by(ServiceContract.signed_on.desc(), ServiceContract.id.desc()).limit(1))
    return session.execute(query).scalar_one_or_none()


def on_submission(session, user: ServiceUser, instrument_id, day: date, now: datetime, accept_terms: bool | None,
                  standard_terms: bool) -> tuple[ServiceContract | None, datetime | None]:
    """(the contract that covers the booking, when the standard terms were accepted).

    An outside user without a contract accepts the standard terms where they apply: the booking form
    asks, and leaving its box unticked (`accept_terms` False) refuses the booking. A caller that did
    not ask (`None`: an API client not sending the field) books without them, and the lab cannot
    schedule it until a contract is on file or the terms are accepted. Where the terms do not apply,
    the lab arranges a contract before it schedules."""
    if not is_outside(user):
        return None, None
    contract = valid_contract(session, user.org_id, instrument_id, day)
    if contract is not None:
        return contract, None
    if standard_terms and accept_terms:
        return None, now
    if standard_terms and accept_terms is False:
        raise RuleViolation({"accept_terms": MSG_ACCEPT_TERMS})
    return None, None


def covered(session, booking: Booking, day: date, standard_terms: bool) -> bool:
    """Whether the lab may schedule the booking on `day`: an inside user, a valid contract (recorded on
    the booking), or the standard terms accepted where they apply."""
    user = booking.user or session.get(ServiceUser, booking.user_id)
    if not is_outside(user):
        return True
    contract = valid_contract(session, user.org_id, booking.instrument_id, day)
    if contract is not None:
        booking.contract_id = contract.id
        return True
    return bool(standard_terms and booking.terms_accepted_at)


def require_cover(session, booking: Booking, day: date, standard_terms: bool):
    if not covered(session, booking, day, standard_terms):
        raise PolicyDenied("no_contract", DENIED_NO_CONTRACT)

"""The PI's approval of on-campus charges (issue 14, item 4).

An on-campus user's charge goes to its project account (经费卡号), and the account's PI (课题负责人, a
Person of the user's record, who usually has no account here) approves it before it is invoiced:

- confirming a campus charge asks for it (`request`): the PI is mailed a signed link (itsdangerous,
  valid `link_days`) to a page where they approve, or reject with a reason (`decide`);
- a PI without an e-mail address is asked on paper, and an administrator above the lab — its college's or
  the school's, never the lab that earns the charge — records the decision with the signed paper's scan
  (`record_paper`); where the PI has an address, only the PI decides;
- invoicing waits for the approval (`require_invoiceable`); a rejected charge is corrected the way every
  confirmed charge is: a credit note, and a new charge, which asks again;
- the lab may send a new link (`renew`): the old one stops working.

Services take `now`; they flush, and the caller commits. The mail goes out from the task queue once the
step's transaction has committed (`install`, wired by app/tasks.py).
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from flask_babel import gettext, lazy_gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
import sqlalchemy as sa

from app import clock
from app.models import Charge, ChargeApproval

from app.models.user import COLLEGE_ADMIN, SCHOOL_ADMIN

from app.services import after_commit
from app.services.people import contracts, mail, notifications
from app.services.actors import Actor, instrument_unit_path, require_lab_side
from app.services.errors import PolicyDenied, RuleViolation

SALT = "pi-approval"
CAMPUS = "campus"
MSG_AWAITING = _("This on-campus charge waits for the PI's approval of its project account; it can be invoiced "
                 "once approved.")
MSG_REJECTED = _("The PI rejected this charge (%(reason)s): issue a credit note, and a new charge if it is corrected.")
MSG_DECIDED = _("This charge has already been decided.")
MSG_NOT_OPEN = _("This charge is no longer waiting to be invoiced (it was credited or waived): nothing to approve.")
MSG_LINK = _("This approval link is not valid: it was replaced by a newer one, or it is incomplete.")
MSG_LINK_EXPIRED = _("This approval link has expired: ask the laboratory for a new one.")
MSG_REASON = _("Give the reason for rejecting the charge.")
MSG_HOW = _("Say how the PI decided (e.g. signed on paper on a given day).")
MSG_HAS_EMAIL = _("The PI has an e-mail address: the PI decides through the mailed link. Send a new link if it was "
                  "lost.")
MSG_ABOVE_LAB = _("A decision on paper is recorded by the college's or the school's administrator, not by the "
                  "laboratory that earns the charge.")
MSG_SCAN = _("Attach the scan of the PI's signed paper (a PDF).")


@dataclass(frozen=True)
class Settings:
    link_days: int = 14

    @classmethod
    def of(cls, config) -> "Settings":
        return cls(int(config.get("PI_APPROVAL_LINK_DAYS", 14)))


def needs_approval(charge: Charge) -> bool:
    return charge.customer_category == CAMPUS and charge.credit_of_id is None and charge.total > 0


def request(session, charge: Charge, now: datetime) -> ChargeApproval | None:
    """Ask the PI of the charge's project account (once per charge); None when none is needed."""
    if not needs_approval(charge):
        return None
    if charge.approval is not None:
        return charge.approval
    pi = charge.user.pi if charge.user is not None else None
    approval = ChargeApproval(charge=charge, instrument_id=charge.usage.instrument_id, pi=pi,
                              pi_name=pi.name if pi is not None else None,
                              email_to=(pi.email or None) if pi is not None else None,
                              project_account=charge.project_account, state="awaiting", requested_at=now,
                              nonce=secrets.token_hex(16))
    session.add(approval)
    session.flush()
    notifications.pi_approval_asked(session, approval, now)
    return approval


def require_invoiceable(charge: Charge):
    approval = charge.approval
    if approval is None or approval.state == "approved":
        return
    if approval.state == "awaiting":
        raise PolicyDenied("pi_awaiting", MSG_AWAITING)
    raise PolicyDenied("pi_rejected", gettext(str(MSG_REJECTED), reason=approval.note))


def token(approval: ChargeApproval, secret: str) -> str:
    return URLSafeTimedSerializer(secret, salt=SALT).dumps([approval.id, approval.nonce])


def by_token(session, value: str, secret: str, settings: Settings) -> ChargeApproval:
    """The approval a link names; refused when it was tampered with, replaced or has expired."""
    try:
        approval_id, nonce = URLSafeTimedSerializer(secret, salt=SALT).loads(value, max_age=settings.link_days * 86400)
    except SignatureExpired:
        raise PolicyDenied("link_expired", MSG_LINK_EXPIRED) from None
    except (BadSignature, ValueError, TypeError):
        raise PolicyDenied("link_invalid", MSG_LINK) from None
    approval = session.get(ChargeApproval, approval_id) if isinstance(approval_id, int) else None
    if approval is None or not secrets.compare_digest(approval.nonce, str(nonce)):
        raise PolicyDenied("link_invalid", MSG_LINK)
    return approval


def _require_open(approval: ChargeApproval):
    if approval.state != "awaiting":
        raise PolicyDenied("decided", MSG_DECIDED)
    if approval.charge.state != "confirmed":  # credited or waived meanwhile: nothing is left to approve
        raise PolicyDenied("charge_state", MSG_NOT_OPEN)


def _settle_decision(session, approval: ChargeApproval, now: datetime, values: dict) -> ChargeApproval:
    # only if still awaiting: the PI's link and a paper record may race; the first one decides
    decided = session.execute(sa.update(ChargeApproval).where(ChargeApproval.id == approval.id,
                                                              ChargeApproval.state == "awaiting")
                              .values(decided_at=now, **values).execution_options(synchronize_session=False))
    session.refresh(approval)
    if decided.rowcount != 1:
        raise PolicyDenied("decided", MSG_DECIDED)
    notifications.pi_decided(session, approval, now)
    return approval


def decide(session, approval: ChargeApproval, now: datetime, approve: bool, note=None) -> ChargeApproval:
    """The PI's decision through the link."""
    _require_open(approval)
    note = (note or "").strip()
    if not approve and not note:
        raise RuleViolation({"note": MSG_REASON})
    return _settle_decision(session, approval, now, {"state": "approved" if approve else "rejected",
                                                     "note": note or None, "decided_via": "link"})


def pi_has_email(approval: ChargeApproval) -> bool:
    """Whether the PI can be asked by mail: the address on the request, or one the PI's record has gained."""
    return bool(approval.email_to or (approval.pi is not None and (approval.pi.email or "").strip()))


def paper_refusal(session, actor: Actor, approval: ChargeApproval) -> PolicyDenied | None:
    """Why `actor` may not record a paper decision on this approval (None: it may)."""
    try:
        require_lab_side(session, actor, approval.instrument_id)
    except PolicyDenied as refusal:
        return refusal
    if actor.unit_path == instrument_unit_path(session, approval.instrument_id) \
            or not {COLLEGE_ADMIN, SCHOOL_ADMIN} & actor.roles:
        return PolicyDenied("lab_records_own", MSG_ABOVE_LAB)
    if pi_has_email(approval):
        return PolicyDenied("pi_has_email", MSG_HAS_EMAIL)
    return None


@dataclass(frozen=True)
class Scan:
    """The signed paper as uploaded: its bytes and its file name, and where scans are kept."""
    data: bytes
    name: str
    folder: Path
    max_bytes: int


def record_paper(session, actor: Actor, approval: ChargeApproval, now: datetime, approve: bool, note, scan: Scan | None
                 ) -> ChargeApproval:
    """A decision the PI (who has no e-mail address) gave on paper, recorded with the signed paper's scan by an
    administrator above the lab; the scan is checked by its content like a contract's."""
    refusal = paper_refusal(session, actor, approval)
    if refusal is not None:
        raise refusal
    _require_open(approval)
    errors, note = {}, (note or "").strip()
    if not note:
        errors["note"] = MSG_HOW if approve else MSG_REASON
    problem = MSG_SCAN if scan is None or not scan.data else contracts.check_pdf(scan.data, scan.max_bytes)
    if problem:
        errors["scan"] = problem
    if errors:
        raise RuleViolation(errors)
    stored, digest = contracts.store_pdf(scan.folder, scan.data)
    try:
        return _settle_decision(session, approval, now, {
            "state": "approved" if approve else "rejected", "note": note, "decided_via": "paper",
            "recorded_by_id": actor.user_id, "scan_path": stored, "scan_name": contracts.uploaded_name(scan.name),
            "scan_size": len(scan.data), "scan_sha256": digest})
    except PolicyDenied:
        (scan.folder / stored).unlink(missing_ok=True)  # decided meanwhile: the scan belongs to nothing
        raise


def scan_path(folder: Path, approval: ChargeApproval) -> Path | None:
    """The stored scan of a paper decision, if it is there (never a path outside the folder)."""
    if not approval.scan_path or "/" in approval.scan_path or "\\" in approval.scan_path:
        return None
    path = folder / approval.scan_path
    return path if path.is_file() else None


def renew(session, actor: Actor, approval: ChargeApproval, now: datetime) -> ChargeApproval:
    """A new link for a PI (the old one no longer works), mailed again; the PI's address as it is now."""
    require_lab_side(session, actor, approval.instrument_id)
    if approval.state != "awaiting":
        raise PolicyDenied("decided", MSG_DECIDED)
    if approval.charge.state != "confirmed":
        raise PolicyDenied("charge_state", MSG_NOT_OPEN)
    pi = approval.pi
    approval.email_to = (pi.email or None) if pi is not None else approval.email_to
    approval.nonce, approval.emailed_at, approval.email_error, approval.requested_at = secrets.token_hex(16), None, None, now
    session.flush()
    return approval


# -- the mail to the PI ------------------------------------------------------------------------------

def compose(approval: ChargeApproval, link: str, settings: mail.MailSettings, link_days: int) -> EmailMessage:
    charge = approval.charge
    use = charge.usage
    names = {"pi": approval.pi_name or "", "user": charge.user.name if charge.user else "",
             "instrument": use.instrument.name, "when": clock.display(use.started_at), "total": f"{charge.total:.2f}",
             "account": approval.project_account or "—"}
    lines = "\n".join(f"  · {line.description}：{line.quantity} × {line.unit_price:.2f} = {line.amount:.2f}"
                      for line in charge.lines)
    email = EmailMessage()
    email["From"] = settings.sender
    email["To"] = approval.email_to
    email["Subject"] = gettext("Please approve an on-campus charge: %(instrument)s, %(total)s yuan", **names)
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = make_msgid(domain=urlsplit(settings.public_url).hostname or "localhost")
    email.set_content("\n\n".join([
        gettext("Dear %(pi)s,", **names),
        gettext("%(user)s used %(instrument)s on %(when)s. The charge of %(total)s yuan is to be paid from the project "
                "account %(account)s:", **names) + "\n" + lines,
        gettext("Approve or reject it here (the link is valid for %(days)s days): %(url)s", days=link_days, url=link),
        gettext("This message was sent by the university's instrument sharing platform."),
    ]))
    return email


def deliver(session, approval_id, settings: mail.MailSettings, secret: str, link_days: int, now: datetime) -> bool:
    """Mail the PI their link once; records when it went, or why not (and raises, for a retry)."""
    approval = session.get(ChargeApproval, approval_id)
    if approval is None or approval.state != "awaiting" or approval.emailed_at is not None or not approval.email_to \
            or not settings.enabled:
        return False
    link = urljoin(settings.public_url, f"/pi-approval/{token(approval, secret)}")
    return mail.send_recorded(session, approval, compose(approval, link, settings, link_days), settings, now)


def _to_mail(session, obj):
    """A new approval, or a new link (renew changes the nonce); never a failed delivery's record of its error."""
    if isinstance(obj, ChargeApproval) and obj.email_to and obj.emailed_at is None and obj.state == "awaiting" \
            and (obj in session.new or sa.inspect(obj).attrs.nonce.history.has_changes()):
        return obj.id
    return None


def install(enqueue):
    """Call `enqueue(approval_id)` for each approval to be mailed, once its transaction has committed."""
    after_commit.install("pi_approval_mail", _to_mail, enqueue)

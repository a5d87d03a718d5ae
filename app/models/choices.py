"""Enumerations: English codes stored in the database, Chinese labels through gettext.

Each enumeration becomes a VARCHAR with a CHECK constraint (portable across SQLite and
PostgreSQL, and visible to Alembic), never a free-text column.
"""
from flask_babel import lazy_gettext as _
import sqlalchemy as sa


class Choices:
    def __init__(self, name: str, *pairs):
        self.name = name
        self.pairs = pairs

    @property
    def codes(self):
        return [code for code, _label in self.pairs]

    def label(self, code):
        for c, label in self.pairs:
            if c == code:
                return label
        return code or ""

    def select_choices(self):
        return [(code, label) for code, label in self.pairs]

    def column_type(self, name=None):
        """A VARCHAR + CHECK type; give `name` when a table has two columns of the same choices
        (PostgreSQL wants each CHECK constraint name once per table)."""
        return sa.Enum(
            *self.codes,
            name=f"ck_{name or self.name}",
            native_enum=False,
            create_constraint=True,
            length=max(len(c) for c in self.codes),
            validate_strings=True,
        )


UNIT_LEVEL = Choices("unit_level", ("school", _("School")), ("college", _("College")), ("lab", _("Laboratory")))

PLATFORM_KIND = Choices(
    "platform_kind",
    ("provincial_lab", _("Provincial laboratory")),
    ("key_lab", _("Key laboratory")),
    ("tech_innovation_center", _("Technology innovation center")),
    ("field_station", _("Field observation station")),
    ("clinical_center", _("Clinical medical research center")),
    ("other", _("Other platform")),
)
PLATFORM_LEVEL = Choices(
    "platform_level",
    ("national", _("National")),
    ("provincial", _("Provincial")),
    ("municipal", _("Municipal")),
    ("school", _("School level")),
)
INSTRUMENT_KIND = Choices("instrument_kind", ("instrument", _("Instrument")), ("facility", _("Facility")))
FUNDING_SOURCE = Choices(
    "funding_source",
    ("fiscal_full", _("Fully fiscal")),
    ("fiscal_partial", _("Partly fiscal")),
    ("non_fiscal", _("Non-fiscal")),
)
RUN_STATUS = Choices(
    "run_status",
    ("normal", _("Normal")),
    ("occasional_fault", _("Occasional fault")),
    ("under_repair", _("Under repair")),
    ("to_scrap", _("To be scrapped")),
    ("scrapped", _("Scrapped")),
)
SHARING_STATUS = Choices(
    "sharing_status",
    ("external", _("Open to outside")),
    ("internal", _("Shared on campus")),
    ("unsuitable", _("Unsuitable for sharing")),
)
PERSON_DUTY = Choices(
    "person_duty",
    ("leader", _("Leader in charge")),
    ("dept_head", _("Head of managing department")),
    ("liaison", _("Liaison")),
    ("instrument_owner", _("Instrument responsible person")),
    ("technician", _("Laboratory technician")),
    ("manager", _("Administrator")),
)
TRAINING_LEVEL = Choices("training_level", ("school", _("School level")), ("college", _("College level")), ("lab", _("Laboratory level")))
UNSUITABLE_CATEGORY = Choices(
    "unsuitable_category",
    ("classified", _("Classified equipment")),
    ("teaching", _("Teaching-only equipment")),
    ("medical", _("Diagnosis and treatment equipment")),
    ("other", _("Other")),
)
FILING_STATE = Choices(
    "filing_state",
    ("draft", _("Lab draft")),
    ("college_review", _("College review")),
    ("school_review", _("School approval")),
    ("filed", _("Filed")),
    ("returned", _("Returned")),
)
FEE_STATE = Choices(
    "fee_state",
    ("draft", _("Draft")),
    ("college_review", _("College review")),
    ("school_review", _("School review")),
    ("published", _("Published")),
    ("retired", _("Retired")),
)
FEE_ACTION = Choices(
    "fee_action",
    ("create", _("Drafted")),
    ("submit", _("Submitted for college review")),
    ("college_approve", _("Approved by the college")),
    ("school_approve", _("Approved and published by the school")),
    ("return", _("Returned")),
    ("retire", _("Retired")),
    ("supersede", _("Superseded by a new version")),
)
FEE_COMPONENT = Choices(
    "fee_component",
    ("usage", _("Instrument usage fee")),
    ("consumables", _("Consumables fee")),
    ("utilities", _("Utilities and operation fee")),
    ("technical", _("Technical service fee")),
)
CUSTOMER_CATEGORY = Choices(
    "customer_category",
    ("campus", _("On campus")),
    ("academic", _("Other universities and research institutes")),
    ("enterprise", _("Enterprise")),
    ("student_startup", _("Student start-up team or individual")),
)
BOOKING_MODE = Choices(
    "booking_mode",
    ("self_operated", _("Self-operated")),
    ("sample", _("Sample testing")),
    ("service", _("Technical service")),
)
BOOKING_STATE = Choices(
    "booking_state",
    ("pending", _("Awaiting response")),
    ("scheduled", _("Scheduled")),
    ("refused", _("Refused")),
    ("cancelled", _("Cancelled")),
    ("completed", _("Completed")),
    ("no_show", _("No-show")),
)
# what a self-operated booking's terminal showed of it (app/services/iot/machine_time.py; computed, not stored)
BOOKING_OUTCOME = Choices(
    "booking_outcome",
    ("on_time", _("On time")),
    ("late_start", _("Late start")),
    ("overtime", _("Overtime")),
    ("left_early", _("Left early")),
    ("no_show", _("No-show")),
)
SERVICE_USER_STATUS = Choices(
    "service_user_status",
    ("pending", _("Awaiting approval")),
    ("active", _("Active")),
    ("rejected", _("Registration refused")),
    ("disabled", _("Disabled")),
)
AUTHORISATION_STATE = Choices(
    "authorisation_state",
    ("active", _("Valid")),
    ("suspended", _("Suspended")),
    ("revoked", _("Revoked")),
    ("lapsed", _("Lapsed")),
)
CLOSURE_KIND = Choices(
    "closure_kind",
    ("maintenance", _("Maintenance")),
    ("calibration", _("Calibration")),
    ("other", _("Other closure")),
)
USAGE_SOURCE = Choices("usage_source", ("manual", _("Manual")), ("iot", _("IoT terminal")))
SERVICE_TYPE = Choices("service_type", ("internal", _("Internal")), ("external", _("External")))
USAGE_DIRECTION = Choices(
    "usage_direction",
    ("research", _("Research")),
    ("development", _("Technology development")),
    ("teaching", _("Teaching")),
    ("other", _("Other")),
)
CHARGE_STATE = Choices(
    "charge_state",
    ("pending", _("To be confirmed")),
    ("confirmed", _("Confirmed")),
    ("invoiced", _("Invoiced")),
    ("settled", _("Settled")),
    ("credited", _("Credited")),
    ("waived", _("Waived")),
)
PAYMENT_METHOD = Choices(
    "payment_method",
    ("campus_transfer", _("Campus transfer")),
    ("bank_transfer", _("Bank transfer")),
    ("other", _("Other")),
)
# how a fee standard's quantity tiers apply: the whole quantity at the price of the tier it falls
# in (volume), or each band of the quantity at its own tier's price (graduated)
TIER_MODE = Choices("tier_mode", ("volume", _("Whole quantity at its tier's price")),
                    ("graduated", _("Each band at its own tier's price")))
# how a started billing unit counts
UNIT_ROUNDING = Choices(
    "unit_rounding",
    ("started_unit", _("A started unit counts in full")),
    ("started_half", _("A started half unit counts as a half")),
    ("exact", _("Exact, to the hundredth")),
)
# what a fee item's quantity is measured in, from a use
QUANTITY_BASIS = Choices(
    "quantity_basis",
    ("hours", _("Hours of use")),
    ("days", _("Days of use")),
    ("samples", _("Samples tested")),
    ("per_use", _("Once per use")),
    ("entered", _("Entered by the lab")),
)
TERMINAL_ADAPTER = Choices(
    "terminal_adapter",
    ("native", _("Native terminal")),
    ("tasmota", _("Tasmota plug")),
    ("shelly", _("Shelly Gen2 plug")),
)
INTERLOCK_ACTION = Choices("interlock_action", ("on", _("Power on")), ("off", _("Power off")))
INTERLOCK_REASON = Choices(
    "interlock_reason",
    ("start", _("Use started")),
    ("end", _("Use ended")),
    ("slot_end", _("Slot ended")),
)
# pending: not published yet; sent: published, the plug has not confirmed (retried); confirmed: the
# plug's own status report says so; superseded: a later command for the plug replaced it before it was
# confirmed; failed: never confirmed within the attempts allowed (the lab is told)
INTERLOCK_STATE = Choices(
    "interlock_state",
    ("pending", _("Waiting to be sent")),
    ("sent", _("Sent, unconfirmed")),
    ("confirmed", _("Confirmed by the plug")),
    ("superseded", _("Superseded")),
    ("failed", _("Unconfirmed, retries stopped")),
)
# an on-campus charge waits for its project account's PI (issue 14, item 4)
PI_APPROVAL_STATE = Choices(
    "pi_approval_state",
    ("awaiting", _("Awaiting the PI's approval")),
    ("approved", _("Approved by the PI")),
    ("rejected", _("Rejected by the PI")),
)
PI_DECIDED_VIA = Choices("pi_decided_via", ("link", _("By the PI's link")),
                         ("paper", _("On paper, recorded with its scan by an administrator above the lab")),
                         # before 0022 the lab itself recorded a paper decision, without a scan
                         ("lab", _("Recorded by the lab (before signed scans were required)")))
REJECTION_REASON = Choices(
    "rejection_reason",
    ("oversized", _("Oversized message")),
    ("wrong_topic", _("Wrong topic")),
    ("not_json", _("Not JSON")),
    ("wrong_type", _("Wrong field type")),
    ("unknown_state", _("Unknown state")),
    ("bad_timestamp", _("Absurd timestamp")),
)
DEVICE_STATE = Choices(
    "device_state",
    ("running", _("Running")),
    ("idle", _("Idle")),
    ("off", _("Off")),
    ("fault", _("Fault")),
    ("offline", _("Offline")),
)
# what a call to a published contact found (issue 23: 空号、停机 are found by calling, never guessed from the number)
CALL_RESULT = Choices(
    "call_result",
    ("reachable", _("Reachable")),
    ("vacant", _("Number does not exist")),
    ("suspended", _("Out of service")),
    ("no_answer", _("No answer")),
    ("wrong_person", _("Not the person")),
)
CHECK_KIND = Choices("check_kind", ("monthly", _("Monthly self-check")), ("quarterly", _("Quarterly review")))
# a monthly self-check is open while the lab goes through it, signed by the lab, then approved or returned by
# the college's quarterly review; a quarterly review is open, then signed
CHECK_STATE = Choices(
    "check_state",
    ("open", _("In progress")),
    ("signed", _("Signed off")),
    ("returned", _("Returned")),
    ("approved", _("Approved")),
)
# what a self-check found of one field of one record: as it was, or corrected during the check
CHECK_RESULT = Choices("check_result", ("confirmed", _("Confirmed")), ("corrected", _("Corrected")))
ASSESSMENT_GRADE = Choices(
    "assessment_grade",
    ("excellent", _("Excellent")),
    ("good", _("Good")),
    ("pass", _("Pass")),
    ("poor", _("Poor")),
)
REVIEW_STATE = Choices(
    "review_state",
    ("submitted", _("Submitted")),
    ("approved", _("Approved")),
    ("rejected", _("Rejected")),
)

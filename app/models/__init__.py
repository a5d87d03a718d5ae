"""All tables. Importing this package registers every model on FAB's metadata."""
from .org import InnovationPlatform, Unit  # noqa: F401
from .people import Person, TrainingSession, training_attendee  # noqa: F401
from .instrument import Instrument, InstrumentClass, UnsuitableFiling  # noqa: F401
from .fees import FeeItem, FeeItemComponent, FeePrice, FeeStandard, FeeStandardEvent  # noqa: F401
from .customer import CustomerOrg, ServiceContract, ServiceUser  # noqa: F401
from .booking import Booking  # noqa: F401
from .usage import UsageRecord  # noqa: F401
from .charge import Charge, ChargeLine  # noqa: F401
from .evaluation import Evaluation  # noqa: F401
from .annual_records import InstrumentYearCost, TypicalCase  # noqa: F401
from .booking_setup import Authorisation, BookingRule, Closure, InstrumentFeed, OpeningHours  # noqa: F401
from .iot import DeviceEvent, DeviceStatus, IotRejection, IotTerminal  # noqa: F401
from .compliance import Assessment, ChangeLog, CheckItem, CheckRecord, ContactCall, PurchaseReview, WorkdayOverride  # noqa: F401
from .user import PlatformUser  # noqa: F401
from .exports import ReportExport, TaskFailure  # noqa: F401
from .messages import Message  # noqa: F401
from .interlock import InterlockCommand  # noqa: F401
from .approval import ChargeApproval  # noqa: F401
from .ledger import LedgerEntry, LedgerImport, LedgerMapping, LedgerUnitName  # noqa: F401

"""Reading the finance office's asset ledger (资产台账) — the first step of 清查建账 (issue 23): a sheet of
raw cells as asset systems export it, in, and its rows as the platform's fields, out, each value read exactly
or refused with the row, the column and a Chinese reason. Nothing here writes: matching and reconciling with
the platform's records, and importing, come after.

- The header row need not be the first (title rows above it, merged cells): it is the row among the first
  twenty that names the most known columns, and it must name the asset number.
- Columns are known by the headers asset systems write (`HEADERS`); a header naming 万元 makes its value
  ten thousand yuan — never guessed from the magnitude.
- Asset numbers are compared normalised (`asset_key`): full-width letters and digits as half-width, spaces
  dropped, upper case. A number twice in one file is refused the second time.
- Empty rows and subtotal rows (合计, 小计, 总计 in place of an asset number, or beside none) are passed over.
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _

from app.models.ledger import LEDGER_TEXT_LENGTHS

# field → the headers that name it (compared normalised, see _header_key): data — the words asset systems write
# in their exports, matched as the file spells them, never shown as the platform's own text
HEADERS = {
    "asset_number": ("资产编号", "卡片编号", "资产卡片号", "资产代码"),
    "name": ("资产名称", "设备名称", "仪器名称", "名称"),
    "model": ("规格型号", "型号规格", "型号", "规格"),
    "value": ("单价", "原值", "价值", "资产原值", "单台原值", "金额"),
    "fiscal": ("财政拨款", "财政性资金"),
    "non_fiscal": ("非财政拨款", "非财政性资金"),
    "funding": ("经费来源", "资金来源", "经费科目"),
    "purchase_date": ("取得日期", "购置日期", "购买日期"),
    "booked_on": ("入账日期",),
    "unit_name": ("使用部门", "使用单位", "所属部门", "使用单位名称"),
    "location": ("存放地点", "存放地址", "安放地点"),
    "keeper": ("使用人", "保管人", "领用人"),
    "manufacturer": ("生产厂家", "生产厂商", "厂家"),
    "country": ("国别", "产地", "生产国别"),
    "class_code": ("国标分类", "分类号", "国标分类号", "资产分类代码"),
    "status": ("使用状况", "使用状态", "资产状态"),
}
FIELDS = tuple(HEADERS)
# each field as the screens, the dry run's workbook and the mapping screen name it
FIELD_LABELS = {
    "asset_number": _("Asset number"), "name": _("Name"), "model": _("Model and specification"),
    "value": _("Original value"), "fiscal": _("Fiscal appropriation"), "non_fiscal": _("Non-fiscal funds"),
    "funding": _("Funding source"), "purchase_date": _("Purchase date"), "booked_on": _("Date entered in the books"),
    "unit_name": _("Department using it"), "location": _("Location"), "keeper": _("User or keeper"),
    "manufacturer": _("Manufacturer"), "country": _("Country"), "class_code": _("Asset classification"),
    "status": _("Condition of use"),
}
MONEY_FIELDS = ("value", "fiscal", "non_fiscal")
DATE_FIELDS = ("purchase_date", "booked_on")
HEADER_SEARCH_ROWS = 20
SUBTOTAL = re.compile(r"^(合计|小计|总计|共计)")
TEN_THOUSAND = Decimal(10000)
CENT = Decimal("0.01")

MSG_NO_HEADER = _("No header row naming the asset number (资产编号 or 卡片编号) in the first 20 rows.")
MSG_NO_NUMBER = _("The asset number is empty.")
MSG_TWICE = _("This asset number is already on row %(row)s of the file.")
MSG_MONEY = _("Not an amount: write a number (yuan, or ten thousand yuan where the header says 万元).")
MSG_NEGATIVE = _("An amount cannot be negative.")
MSG_DATE = _("Not a date: write it as 2019-05-06, 2019.05.06, 2019/5/6 or 2019年5月6日.")
MSG_TOO_LONG = _("Too long: at most %(length)s characters.")
MSG_FUNDING = _("The funding source is not one the platform knows: 财政拨款, 部分财政 or 非财政 (自筹、横向…).")


@dataclass(frozen=True)
class Refusal:
    row: int  # the sheet's own row number (1-based, as a spreadsheet shows it)
    column: str  # the header as the file writes it
    message: str


@dataclass
class LedgerRow:
    row: int
    asset_number: str  # as the file writes it, trimmed
    values: dict  # field → value read: text stripped, money in yuan (Decimal), dates, funding code
    key: str  # the asset number as compared (asset_key)


@dataclass
class Reading:
    header_row: int | None = None
    columns: dict = field(default_factory=dict)  # field → the header naming it
    unrecognised: list = field(default_factory=list)  # headers no field takes (mapped on a screen later)
    rows: list = field(default_factory=list)
    refused: list = field(default_factory=list)
    refused_keys: set = field(default_factory=set)  # asset numbers of refused rows: still in the ledger


def asset_key(text) -> str:
    """An asset number as it is compared: full-width as half-width (NFKC), no spaces, upper case."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text or ""))).upper()


def _header_key(text) -> str:
    """A header compared: half-width, no spaces, no unit in brackets, no trailing colon or asterisk."""
    key = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text or "")))
    return re.sub(r"[(（\[].*?[)）\]]|[:：*＊]", "", key)


_KNOWN = {_header_key(header): name for name, headers in HEADERS.items() for header in headers}


def _field_of(header, mapping=None) -> str | None:
    """The field a header names: the saved mapping's word first (it may also set a header aside: ""), then the
    headers asset systems write."""
    key = _header_key(header)
    if mapping and key in mapping:
        return mapping[key] or None
    return _KNOWN.get(key)


def mapping_keys(columns: dict) -> dict:
    """A saved mapping (header as the file writes it → field) as the reader compares headers."""
    return {_header_key(header): name for header, name in (columns or {}).items() if name in FIELDS or not name}


def _written(value) -> str:
    """A cell as the file writes it, trimmed; a whole number written as a number cell (20190001.0) without its
    decimal point."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _text(value) -> str:
    """A cell as it is read for a number, a date or a code: half-width (NFKC), trimmed."""
    return unicodedata.normalize("NFKC", _written(value)).strip()


def plain_name(text) -> str:
    """A name as names are compared (a 使用部门 with a unit's): half-width, no spaces."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text or "")))


def _blank(value) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, float) and value != value


def find_header(cells: list[list], mapping=None) -> int | None:
    """The index of the header row: among the first rows, the one naming the most known columns, with the
    asset number among them."""
    best, best_count = None, 0
    for index, row in enumerate(cells[:HEADER_SEARCH_ROWS]):
        fields = {_field_of(cell, mapping) for cell in row if not _blank(cell)} - {None}
        if "asset_number" in fields and len(fields) > best_count:
            best, best_count = index, len(fields)
    return best


def read_money(value, ten_thousands: bool) -> Decimal:
    """An amount in yuan, to the cent; ValueError when it is not one or is negative."""
    if isinstance(value, bool):
        raise ValueError(MSG_MONEY)
    text = _text(value).replace(",", "").replace("¥", "").removesuffix("元")
    text = text.removesuffix("万") if ten_thousands else text
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(MSG_MONEY) from None
    if not amount.is_finite():
        raise ValueError(MSG_MONEY)
    if amount < 0:
        raise ValueError(MSG_NEGATIVE)
    return (amount * TEN_THOUSAND if ten_thousands else amount).quantize(CENT)


_DATE_TEXT = re.compile(r"^(\d{4})\s*[-./年]\s*(\d{1,2})\s*[-./月]\s*(\d{1,2})\s*日?$")


def read_date(value) -> date:
    """A date written as a date cell, or as text 2019-05-06, 2019.05.06, 2019/5/6, 2019年5月6日; ValueError
    otherwise (a bare number is not guessed to be an Excel serial: a date cell arrives as a date)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = re.sub(r"[T ]00:00(:00)?$", "", _text(value))
    match = _DATE_TEXT.match(text)
    if not match:
        raise ValueError(MSG_DATE)
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        raise ValueError(MSG_DATE) from None


def read_funding(text) -> str:
    """经费来源 as the platform's funding code; ValueError when it cannot be told."""
    words = _text(text)
    if re.search("非财政|自筹|横向|捐赠|社会", words):
        return "non_fiscal"
    if re.search("部分财政|财政与自筹|混合", words):
        return "fiscal_partial"
    if "财政" in words:  # only where it says so: 专项, 科研 or 中央 alone could be either
        return "fiscal_full"
    raise ValueError(MSG_FUNDING)


def _funding_from_amounts(fiscal: Decimal | None, non_fiscal: Decimal | None) -> str | None:
    if fiscal is None and non_fiscal is None:
        return None
    if not fiscal:
        return "non_fiscal"
    return "fiscal_partial" if non_fiscal else "fiscal_full"


def read_cells(cells: list[list], mapping: dict | None = None) -> Reading:
    """A sheet's raw cells (a list of rows, the first being the sheet's row 1) read as ledger rows; `mapping`
    (from `mapping_keys`) names the headers the platform does not know by itself."""
    reading = Reading()
    header_index = find_header(cells, mapping)
    if header_index is None:
        reading.refused.append(Refusal(1, "", str(MSG_NO_HEADER)))
        return reading
    reading.header_row = header_index + 1
    positions = {}
    for position, header in enumerate(cells[header_index]):
        if _blank(header):
            continue
        name = _field_of(header, mapping)
        if name is None or name in positions:
            reading.unrecognised.append(str(header).strip())
            continue
        positions[name] = position
        reading.columns[name] = str(header).strip()
    ten_thousands = {name: "万元" in _text(reading.columns[name]) for name in MONEY_FIELDS if name in reading.columns}
    seen = {}
    for offset, row in enumerate(cells[header_index + 1:]):
        number = header_index + 2 + offset
        cell = {name: (row[position] if position < len(row) else None) for name, position in positions.items()}
        if all(_blank(value) for value in cell.values()):
            continue
        if _blank(cell["asset_number"]) or SUBTOTAL.match(_text(cell["asset_number"])):
            if any(SUBTOTAL.match(_text(value)) for value in row if not _blank(value)):
                continue  # a subtotal, its word in any column (the asset number's included)
            reading.refused.append(Refusal(number, reading.columns["asset_number"], str(MSG_NO_NUMBER)))
            continue
        asset_number = _text(cell["asset_number"])
        if len(asset_number) > LEDGER_TEXT_LENGTHS["asset_number"]:
            reading.refused.append(Refusal(number, reading.columns["asset_number"],
                                           str(MSG_TOO_LONG) % {"length": LEDGER_TEXT_LENGTHS["asset_number"]}))
            continue
        key = asset_key(asset_number)
        if key in seen:
            reading.refused.append(Refusal(number, reading.columns["asset_number"], str(MSG_TWICE) % {"row": seen[key]}))
            continue
        seen[key] = number
        values, problems = {}, []
        for name, raw in cell.items():
            if name == "asset_number" or _blank(raw):
                continue
            try:
                if name in MONEY_FIELDS:
                    values[name] = read_money(raw, ten_thousands[name])
                elif name in DATE_FIELDS:
                    values[name] = read_date(raw)
                elif name == "funding":
                    values[name] = read_funding(raw)
                else:  # kept as written (full-width brackets and all): compared by plain_name / same_text
                    values[name] = _written(raw)
                    if len(values[name]) > LEDGER_TEXT_LENGTHS[name]:
                        raise ValueError(str(MSG_TOO_LONG) % {"length": LEDGER_TEXT_LENGTHS[name]})
            except ValueError as error:
                problems.append(Refusal(number, reading.columns[name], str(error.args[0])))
        if problems:
            reading.refused.extend(problems)
            reading.refused_keys.add(key)
            continue
        if "funding" not in values:
            funding = _funding_from_amounts(values.get("fiscal"), values.get("non_fiscal"))
            if funding is not None:
                values["funding"] = funding
        reading.rows.append(LedgerRow(number, asset_number, values, key))
    return reading


# -- files -------------------------------------------------------------------------------------------

MSG_NOT_A_SHEET = _("The file is not a spreadsheet this platform reads (.xlsx, .xls, or .csv in UTF-8 or GB18030).")
MSG_UNREADABLE = _("The workbook cannot be opened: it is damaged or protected by a password. Save it again "
                   "without a password as .xlsx and upload that.")
MSG_ENCODING = _("The CSV file is neither UTF-8 nor GB18030 text.")
MSG_TOO_BIG = _("The file is larger than %(mb)s MB: export the ledger without pictures or split it.")
MSG_NO_SHEET = _("The workbook has no sheet named %(sheet)s.")
MAX_BYTES = 50 * 1024 * 1024  # a 50,000-row, 30-column export is about 10 MB as .xlsx
# what each kind of file starts with: a workbook is read by its content, never by its name alone
MAGIC = {".xlsx": (b"PK\x03\x04",), ".xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",), ".csv": None}


class NotALedger(Exception):
    """The file is refused as a whole: nothing of it is read."""


def _kind(data: bytes, filename: str, max_bytes: int) -> str:
    if len(data) > max_bytes:
        raise NotALedger(str(MSG_TOO_BIG) % {"mb": max_bytes // (1024 * 1024)})
    suffix = "." + filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
    if suffix not in MAGIC:
        raise NotALedger(str(MSG_NOT_A_SHEET))
    if MAGIC[suffix] is not None and not data.startswith(MAGIC[suffix]):
        if suffix == ".xlsx" and data.startswith(MAGIC[".xls"][0]):  # an encrypted .xlsx is an OLE file
            raise NotALedger(str(MSG_UNREADABLE))
        raise NotALedger(str(MSG_NOT_A_SHEET))
    return suffix


def _csv_text(data: bytes) -> str:
    if b"\x00" in data:  # UTF-16 or a binary file named .csv
        raise NotALedger(str(MSG_ENCODING))
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise NotALedger(str(MSG_ENCODING))


def _workbook(data: bytes):
    """The workbook, read by calamine (the reader pandas' engine="calamine" wraps; called directly, the cells
    arrive as Python values once, not converted a second time into a DataFrame)."""
    import python_calamine

    try:
        return python_calamine.load_workbook(io.BytesIO(data))
    except Exception as error:  # calamine names every unreadable workbook its own way (a password: PasswordError)
        raise NotALedger(str(MSG_UNREADABLE)) from error


def sheet_names(data: bytes, filename: str, max_bytes: int = MAX_BYTES) -> list[str]:
    """The sheets of a workbook, in its order (a CSV file is one sheet, named by nothing)."""
    if _kind(data, filename, max_bytes) == ".csv":
        _csv_text(data)
        return []
    return list(_workbook(data).sheet_names)


def cells_of(data: bytes, filename: str, sheet: str | None = None, max_bytes: int = MAX_BYTES) -> list[list]:
    """The raw cells of one sheet (the first unless named) of an .xlsx / .xls workbook (calamine) or of a .csv
    (UTF-8 with or without BOM, else GB18030); NotALedger when the file is none of these."""
    if _kind(data, filename, max_bytes) == ".csv":
        return [row for row in csv.reader(io.StringIO(_csv_text(data)))]
    book = _workbook(data)
    names = list(book.sheet_names)
    if sheet and sheet not in names:
        raise NotALedger(str(MSG_NO_SHEET) % {"sheet": sheet})
    try:
        return book.get_sheet_by_name(sheet or names[0]).to_python(skip_empty_area=False)
    except Exception as error:
        raise NotALedger(str(MSG_UNREADABLE)) from error

"""The one Excel writer (pandas + xlsxwriter) every filing and download goes through.

A sheet is a DataFrame plus the form's furniture: a title, header fields above the table,
signature/seal lines below it. Every workbook is print-ready: A4, the table header repeated
and frozen, widths that fit Chinese text, and cells that would start a formula escaped.
"""
import io
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import quote

from flask_babel import gettext
import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@")
BLANK = "________"  # a line to fill in by hand, as on the paper form


def wan_yuan(yuan):
    """Yuan as 万元 with two decimals (the forms' unit for original values and incomes)."""
    if yuan is None:
        return None
    return (Decimal(yuan) / Decimal(10000)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def sign_off():
    """The filler's, the reviewer's and the seal's lines that close a filing (as on the province's forms)."""
    return gettext("Filled in by: %(blank)s    Reviewed by: %(blank)s    Unit (official seal): %(blank)s    Date: %(blank)s",
                   blank=BLANK)


def long_date(day):
    """2026年11月25日 (in Chinese; the msgid is ISO-like)."""
    return gettext("%(year)s-%(month)s-%(day)s", year=day.year, month=day.month, day=day.day)


@dataclass
class Sheet:
    name: str
    title: str
    frame: pd.DataFrame
    header_fields: list = field(default_factory=list)  # [(label, value)] above the table
    footer_lines: list = field(default_factory=list)  # signature and seal lines below it
    landscape: bool = False
    money_columns: tuple = ()  # shown with two decimals and thousands separators
    empty_note: str = ""  # what an empty table says (a year with no data is a valid, empty report)
    column_widths: dict = field(default_factory=dict)  # column -> width in characters (long texts wrap)
    number_formats: dict = field(default_factory=dict)  # column -> Excel number format ("0.00%")
    pages_wide: int = 1  # a table too wide for one A4 page spans this many, its first columns repeated
    repeat_columns: int = 0  # how many leading columns each page repeats (with pages_wide > 1)


def escape_formula(value):
    """Text a spreadsheet would run as a formula is prefixed with an apostrophe-like quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


HEADER_WIDTH = 12  # characters of a header before it wraps (six Chinese characters)
MAX_COLUMN_WIDTH = 40  # characters; longer text wraps (a row grows instead of the page shrinking)
LINE_HEIGHT = 15  # points per wrapped line of 11-point SimSun


def _escaped(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every text that would run as a formula escaped (only text columns are looked at)."""
    if frame.empty:
        return frame
    frame = frame.copy()
    for name in frame.select_dtypes(exclude=["number", "bool", "datetime"]).columns:
        values = frame[name]
        risky = values.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_STARTS))
        if risky.any():
            frame.loc[risky, name] = values[risky].map(escape_formula)
    return frame


def _text_width(line: str) -> int:
    # a CJK character is about twice as wide as a Latin one in a spreadsheet cell
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in line)


def _display_width(value) -> int:
    text = "" if value is None else str(value)
    return max((_text_width(line) for line in text.splitlines()), default=0)


def _column_width(values: pd.Series) -> int:
    """The widest cell of a column, vectorised (a report can hold tens of thousands of rows):
    characters plus one more for each wide (CJK) one, of the longest line."""
    if values.empty:
        return 0
    text = values.map(lambda v: "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v))
    lines = text.str.split("\n").explode()
    return int((lines.str.len() + lines.str.count("[\u2e80-\U0010ffff]")).max() or 0)


NUMBER_TYPES = {int, float, Decimal}


def _missing(value) -> bool:
    return value is None or value is pd.NA or value != value or value == ""  # missing, NaN or empty text


def _lines(value, width) -> int:
    """How many lines a wrapped cell of `width` characters needs."""
    if value is None or not isinstance(value, str):
        return 1
    usable = max(width - 1, 1)
    return sum(max(1, -(-_text_width(line) // usable)) for line in value.splitlines() or [""])


PROGRESS_EVERY = 2000  # rows between two progress reports


def write_workbook(sheets, progress=None) -> bytes:
    """The workbook's bytes. `progress(rows written, rows in all, sheet name)`, when given, hears
    of each sheet and of every PROGRESS_EVERY rows (a long export shows how far it got)."""
    total = sum(len(sheet.frame) for sheet in sheets) or 1
    done = [0]

    def tell(rows, sheet_name):
        done[0] += rows
        if progress is not None:
            progress(done[0], total, sheet_name)

    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="xlsxwriter", engine_kwargs={"options": {"constant_memory": True}}) as writer:
        book = writer.book
        title_fmt = book.add_format({"bold": True, "font_size": 16, "align": "center", "valign": "vcenter",
                                     "font_name": "SimSun"})
        label_fmt = book.add_format({"font_name": "SimSun", "font_size": 11})
        head_fmt = book.add_format({"bold": True, "border": 1, "align": "center", "valign": "vcenter",
                                    "text_wrap": True, "font_name": "SimSun", "bg_color": "#F2F2F2"})
        cell_fmt = book.add_format({"border": 1, "valign": "top", "text_wrap": True, "font_name": "SimSun"})
        money_fmt = book.add_format({"border": 1, "valign": "top", "num_format": "#,##0.00", "font_name": "SimSun"})
        footer_fmt = book.add_format({"font_name": "SimSun", "font_size": 11, "text_wrap": True, "valign": "top"})
        for sheet in sheets:
            tell(0, sheet.name)
            _write_sheet(writer, sheet, title_fmt, label_fmt, head_fmt, cell_fmt, money_fmt, footer_fmt, tell)
    return buffer.getvalue()


def _column_writer(ws, name, values, sheet, number_fmts, money_fmt, cell_fmt):
    """How one column's cells are written, decided once from its values: numbers as numbers with
    the column's format, text as text (xlsxwriter's generic write() runs regexes on every value),
    and the missing-value test only where the column has gaps."""
    present = [v for v in values if not _missing(v)]
    kinds = {type(v) for v in present}
    if name in sheet.money_columns or name in number_fmts:
        write, convert, fmt = ws.write_number, float, (money_fmt if name in sheet.money_columns else number_fmts[name])
    elif kinds <= {str}:
        write, convert, fmt = ws.write_string, None, cell_fmt
    elif kinds <= NUMBER_TYPES:
        write, convert, fmt = ws.write_number, float, cell_fmt
    else:
        write, convert, fmt = ws.write, None, cell_fmt
    if len(present) == len(values):
        if convert is None:
            return lambda r, c, v: write(r, c, v, fmt)
        return lambda r, c, v: write(r, c, convert(v), fmt)
    blank = ws.write_blank

    def write_or_blank(r, c, v):
        if _missing(v):
            blank(r, c, None, cell_fmt)
        else:
            write(r, c, v if convert is None else convert(v), fmt)
    return write_or_blank


def _write_sheet(writer, sheet, title_fmt, label_fmt, head_fmt, cell_fmt, money_fmt, footer_fmt, tell):
    frame = _escaped(sheet.frame)
    columns = list(frame.columns)
    ws = writer.book.add_worksheet(sheet.name[:31])
    writer.sheets[sheet.name[:31]] = ws
    last_col = max(len(columns) - 1, 0)
    if last_col:
        ws.merge_range(0, 0, 0, last_col, sheet.title, title_fmt)
    else:
        ws.write(0, 0, sheet.title, title_fmt)
    ws.set_row(0, 30)
    row = 1
    for label, value in sheet.header_fields:  # one per line, as on the paper form
        ws.write(row, 0, f"{label}：{value}", label_fmt)
        row += 1
    header_row = row
    widths, wrapping = [], []  # wrapping: the columns whose widest cell is wider than the column
    for c, name in enumerate(columns):
        # a long header wraps over a few lines instead of widening a column of short numbers
        widest = max(min(_display_width(name), HEADER_WIDTH), _column_width(frame.iloc[:, c]))
        widths.append(min(max(widest + 2, 6), sheet.column_widths.get(name, MAX_COLUMN_WIDTH)))
        if widest + 2 > widths[-1]:
            wrapping.append(c)
        ws.set_column(c, c, widths[-1])
    for c, name in enumerate(columns):
        ws.write(header_row, c, str(name), head_fmt)
    ws.set_row(header_row, LINE_HEIGHT * max([_lines(str(n), w) for n, w in zip(columns, widths)] or [1]) + 4)
    number_fmts = {name: writer.book.add_format({"border": 1, "valign": "top", "num_format": fmt, "font_name": "SimSun"})
                   for name, fmt in sheet.number_formats.items()}
    # one writer per column, chosen once from the column's values (a report can hold hundreds of
    # thousands of cells; xlsxwriter's generic write() inspects every value with regexes)
    data = [frame[c].tolist() for c in columns]
    writers = [_column_writer(ws, name, values, sheet, number_fmts, money_fmt, cell_fmt) for name, values in zip(columns, data)]
    for r, values in enumerate(zip(*data) if columns else (), start=header_row + 1):
        for c, value in enumerate(values):
            writers[c](r, c, value)
        if wrapping:
            lines = max(_lines(values[c], widths[c]) for c in wrapping)
            if lines > 1:
                ws.set_row(r, LINE_HEIGHT * lines + 4)
        if (r - header_row) % PROGRESS_EVERY == 0:
            tell(PROGRESS_EVERY, sheet.name)
    tell(len(frame) % PROGRESS_EVERY, sheet.name)
    total_width = sum(widths) or 10
    if frame.empty:
        note = sheet.empty_note or gettext("No data for this period.")
        if last_col:
            ws.merge_range(header_row + 1, 0, header_row + 1, last_col, note, cell_fmt)
        else:
            ws.write(header_row + 1, 0, note, cell_fmt)
    footer_row = header_row + max(len(frame), 1) + 2
    for i, line in enumerate(sheet.footer_lines):  # across the table's width, wrapped
        if last_col:
            ws.merge_range(footer_row + i, 0, footer_row + i, last_col, line, footer_fmt)
        else:
            ws.write(footer_row + i, 0, line, footer_fmt)
        ws.set_row(footer_row + i, LINE_HEIGHT * _lines(line, total_width) + 4)
    ws.freeze_panes(header_row + 1, 0)
    ws.repeat_rows(header_row)
    ws.set_paper(9)  # A4
    if sheet.landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.fit_to_pages(sheet.pages_wide, 0)
    if sheet.repeat_columns:
        ws.repeat_columns(0, sheet.repeat_columns - 1)
    ws.set_margins(left=0.5, right=0.5, top=0.7, bottom=0.7)
    ws.center_horizontally()


def content_disposition(filename: str) -> str:
    """An attachment header whose Chinese file name survives every browser (RFC 5987 / 6266)."""
    ascii_fallback = "".join(ch if ch.isascii() and ch.isalnum() or ch in "._-" else "_" for ch in filename)
    return f"attachment; filename=\"{ascii_fallback}\"; filename*=UTF-8''{quote(filename)}"

"""Keeping the Chinese catalogue: `missing` lists the msgids the code and templates use that have no
translation yet; `add FILE` merges translations ({msgid: msgstr}, a Python dict literal) into it,
sorted. Unlike `pybabel update`, it keeps the entries for FAB's own strings, which our extraction
does not see (pybabel would mark them obsolete, and they would drop out of the compiled catalogue).

    .venv/bin/python translations/catalog.py missing
    .venv/bin/python translations/catalog.py add new.py && make translations
"""
import ast
import re
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
POT = Path("/tmp") / "platform-messages.pot"


def catalogue():
    with open(PO, "rb") as handle:
        return read_po(handle, locale="zh")


def missing():
    subprocess.run([str(Path(sys.executable).parent / "pybabel"), "extract", "-F", "babel.cfg", "-k", "lazy_gettext",
                    "-k", "_", "-o", str(POT), "."], cwd=ROOT, check=True, capture_output=True)
    with open(POT, "rb") as handle:
        used = read_po(handle)
    known = catalogue()
    return [m.id for m in used if m.id and (m.id not in known or not known[m.id].string)]


def add(translations: dict):
    known = catalogue()
    for msgid, msgstr in translations.items():
        known.add(msgid, msgstr, flags=["python-format"] if re.search(r"%(\(\w+\))?s", msgid) else [])
    with open(PO, "wb") as handle:
        write_po(handle, known, sort_output=True, width=0, no_location=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["missing"]:
        for msgid in missing():
            print(repr(msgid))
    elif sys.argv[1:2] == ["add"] and len(sys.argv) == 3:
        add(ast.literal_eval(Path(sys.argv[2]).read_text(encoding="utf-8")))
    else:
        sys.exit(__doc__)

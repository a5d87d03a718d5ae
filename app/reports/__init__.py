"""The province's Excel filings (SPEC §4).

Layering: queries scoped to the report's units return rows and DataFrames; one Excel writer
(pandas + xlsxwriter, excel.py) renders every form; the console and `flask --app app report NAME`
both go through the registry (registry.py). Each report module registers itself there with
`@report(...)`; importing this package imports each of them once, which is all it takes.
"""
from . import annual, assessment, fees, filings, provincial, selfcheck, subsidy  # noqa: F401  (they register)

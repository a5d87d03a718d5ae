"""The province's Excel filings (SPEC §4).

Layering, for the reports issue: queries scoped through app.security.scope return pandas
DataFrames; one Excel writer (pandas + xlsxwriter) renders every form; the console and
`flask --app app report NAME` both call it.
"""

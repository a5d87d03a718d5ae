"""Reading report workbooks back (openpyxl) for the report tests: run the CLI, find a table by
its exact header row, take its body down to the first blank row."""
import io

import openpyxl


def run_report(app, tmp_path, name, *args):
    """`flask report NAME ARGS` -> (click result, the file's bytes or None)."""
    path = tmp_path / f"{name}.xlsx"
    result = app.test_cli_runner().invoke(args=["report", name, *args, "--output", str(path)])
    return result, (path.read_bytes() if result.exit_code == 0 else None)


def worksheets(content):
    """{sheet title: openpyxl worksheet}."""
    return {ws.title: ws for ws in openpyxl.load_workbook(io.BytesIO(content)).worksheets}


def rows_of(ws):
    return [[c.value for c in row] for row in ws.iter_rows()]


def table(rows, headers):
    """(index of the header row, the rows below it up to the first blank one), each cut to the headers' width."""
    start = next(i for i, r in enumerate(rows) if r[:len(headers)] == headers)
    body = []
    for r in rows[start + 1:]:
        if all(v is None for v in r):
            break
        body.append(r[:len(headers)])
    return start, body

"""Turning measured cases into results: the summary table, the goals, and the JSON files."""
from __future__ import annotations

import json
import statistics
import subprocess
from pathlib import Path

from bench.data import ACCOUNTS
from bench.measure import BARE, PAGE_SIZES, SCOPED

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"

# the goals, from the issue
RATIO_GOAL = 1.3
RATIO_PAGE_SIZE = 25
MAX_STATEMENTS = 10


# ------------------------------------------------------------------------------------------
# summary and goals
# ------------------------------------------------------------------------------------------
def percentile(values, q):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summarise(cases):
    """One row per (role, page size), scoped and bare side by side."""
    rows = []
    for _u, role, _l in ACCOUNTS:
        for size in PAGE_SIZES:
            s, b = cases[(role, size, SCOPED)], cases[(role, size, BARE)]
            s50, b50 = statistics.median(s["times_ms"]), statistics.median(b["times_ms"])
            # each round measures scoped and bare back to back: the median of those pairs'
            # ratios is less sensitive to load from other processes than the ratio of medians
            paired = statistics.median(x / y for x, y in zip(s["times_ms"], b["times_ms"]))
            rows.append({
                "role": role, "page_size": size,
                "visible_instruments": s["visible_total"],
                "scoped_p50_ms": round(s50, 2), "scoped_p95_ms": round(percentile(s["times_ms"], 0.95), 2),
                "bare_p50_ms": round(b50, 2), "bare_p95_ms": round(percentile(b["times_ms"], 0.95), 2),
                "ratio_p50": round(s50 / b50, 3),
                "ratio_paired_median": round(paired, 3),
                "scoped_cpu_p50_ms": round(statistics.median(s["cpu_ms"]), 2),
                "bare_cpu_p50_ms": round(statistics.median(b["cpu_ms"]), 2),
                "scoped_sql_p50_ms": round(statistics.median(s["sql_ms"]), 2),
                "bare_sql_p50_ms": round(statistics.median(b["sql_ms"]), 2),
                "scoped_statements": sorted(set(s["statements"])),
                "bare_statements": sorted(set(b["statements"])),
                "scoped_page_check": s["check"], "bare_page_check": b["check"],
            })
    return rows


def evaluate(rows):
    by = {(r["role"], r["page_size"]): r for r in rows}
    roles = [role for _u, role, _l in ACCOUNTS]
    ratio_detail = {role: by[(role, RATIO_PAGE_SIZE)]["ratio_p50"] for role in roles}
    ratio_met = all(v <= RATIO_GOAL for v in ratio_detail.values())
    stmt_detail, stmt_met = {}, True
    for role in roles:
        counts = {size: by[(role, size)]["scoped_statements"] for size in PAGE_SIZES}
        stable = all(len(c) == 1 for c in counts.values())
        values = {size: max(c) for size, c in counts.items()}
        ok = stable and len(set(values.values())) == 1 and max(values.values()) <= MAX_STATEMENTS
        stmt_detail[role] = {"per_page_size": values, "stable_across_rounds": stable, "met": ok}
        stmt_met &= ok
    checks_ok = all(r["scoped_page_check"] == "ok" and r["bare_page_check"] == "ok" for r in rows)
    return {
        "ratio": {"goal": f"scoped p50 / bare p50 <= {RATIO_GOAL} at page size {RATIO_PAGE_SIZE}",
                  "met": ratio_met, "per_role": ratio_detail},
        "statements": {"goal": f"scoped list statements equal for page sizes {PAGE_SIZES} and <= {MAX_STATEMENTS}",
                       "met": stmt_met, "per_role": stmt_detail},
        "pages_show_expected_rows": checks_ok,
    }


# ------------------------------------------------------------------------------------------
# printed report
# ------------------------------------------------------------------------------------------
def fmt_counts(values):
    return "/".join(str(v) for v in values)


def print_report(meta, rows, goals, cases, show_sql):
    print()
    print(f"List pages — {meta['dialect']}, {meta['data']['instruments']} instruments, "
          f"{meta['rounds']} rounds (+{meta['warmup']} warm-up), times in ms")
    header = (f"{'role':<13}{'size':>5}{'visible':>9}{'scoped p50':>12}{'p95':>8}{'bare p50':>10}{'p95':>8}{'ratio':>7}"
              f"{'paired':>8}{'SQL n s/b':>11}{'SQL ms s/b':>13}  page")
    print(header)
    print("-" * len(header))
    for r in rows:
        page = "ok" if r["scoped_page_check"] == "ok" and r["bare_page_check"] == "ok" else "CHECK"
        print(f"{r['role']:<13}{r['page_size']:>5}{r['visible_instruments']:>9}{r['scoped_p50_ms']:>12.1f}"
              f"{r['scoped_p95_ms']:>8.1f}{r['bare_p50_ms']:>10.1f}{r['bare_p95_ms']:>8.1f}{r['ratio_p50']:>7.2f}{r['ratio_paired_median']:>8.2f}"
              f"{fmt_counts(r['scoped_statements']) + ' / ' + fmt_counts(r['bare_statements']):>11}"
              f"{r['scoped_sql_p50_ms']:>7.1f} /{r['bare_sql_p50_ms']:>4.1f}  {page}")
    for r in rows:
        for kind in ("scoped", "bare"):
            if r[f"{kind}_page_check"] != "ok":
                print(f"  page check {r['role']} {r['page_size']} {kind}: {r[f'{kind}_page_check']}")
    print()
    g = goals["ratio"]
    print(f"{'GOAL MET   ' if g['met'] else 'GOAL MISSED'}  {g['goal']}: "
          + ", ".join(f"{role} {v:.2f}" for role, v in g["per_role"].items()))
    g = goals["statements"]
    print(f"{'GOAL MET   ' if g['met'] else 'GOAL MISSED'}  {g['goal']}: "
          + ", ".join(
              f"{role} " + "/".join(f"{d['per_page_size'][s]}" for s in PAGE_SIZES)
              + ("" if d["stable_across_rounds"] else " (varies)")
              for role, d in g["per_role"].items()))
    if not goals["pages_show_expected_rows"]:
        print("WARNING: some list pages did not show the expected instruments (see 'page' column)")
    if show_sql:
        for (role, size, kind), case in cases.items():
            print()
            print(f"--- SQL of one request: {role} {kind} page size {size} ({sum(s['count'] for s in case['sample_sql'])} statements)")
            for s in case["sample_sql"]:
                sql = s["sql"] if len(s["sql"]) <= 400 else s["sql"][:400] + " …"
                print(f"  {s['count']:>3} x {s['ms']:>7.2f} ms  {sql}")


# ------------------------------------------------------------------------------------------
# JSON results
# ------------------------------------------------------------------------------------------
def git_commit():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=5).stdout.strip() or None
    except Exception:
        return None


def results_payload(meta, rows, goals, cases):
    """Everything the run measured, including the raw timings, keyed "role/view/size"."""
    return {
        **meta,
        "results": rows,
        "goals": goals,
        "sql_per_case": {f"{role}/{kind}/{size}": case["sample_sql"] for (role, size, kind), case in cases.items()},
        "raw_times_ms": {f"{role}/{kind}/{size}": [round(t, 3) for t in case["times_ms"]] for (role, size, kind), case in cases.items()},
    }


def write_results(path, payload, dialect):
    """Write `path` and a per-dialect copy next to it, so SQLite and PostgreSQL runs both survive."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(payload, ensure_ascii=False, indent=2, default=str)
    path.write_text(text + "\n", encoding="utf-8")
    per_dialect = path.with_name(f"{path.stem}.{dialect}{path.suffix}")
    per_dialect.write_text(text + "\n", encoding="utf-8")
    return path, per_dialect

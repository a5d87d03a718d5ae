"""The table `make mutation` ends with: per mutated module, how many of its mutants the suite killed, and the
survivors by name (`mutmut show NAME` prints one's change). Reads mutmut's own result files under the mutants/
folders it is given (tools/mutation.py's copies), of the modules mutmut was told to mutate."""
import json
import sys
from collections import Counter
from pathlib import Path

# mutmut's exit codes (mutmut/stats.py): 1 and 3 are a failing suite, 0 a passing one
KILLED = {1, 3}
SURVIVED = {0}
GOAL = 0.85


def module_results(root):
    for meta in sorted(Path(root).glob("**/*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        yield meta.relative_to(root).with_suffix("").as_posix(), codes


def status(code):
    if code is None:
        return "not run"
    if code in KILLED:
        return "killed"
    if code in SURVIVED:
        return "survived"
    return {33: "no tests", 5: "no tests", 34: "skipped", 36: "timeout", 24: "timeout", 152: "timeout",
            -24: "timeout"}.get(code, "suspicious")


def main(*roots):
    rows, survivors, short = [], [], []
    for module, codes in (result for root in roots or ["mutants"] for result in module_results(root)):
        counts = Counter(status(code) for code in codes.values())
        # a timeout is a mutant the suite stopped (an endless loop): killed, as mutmut counts it
        decided = counts["killed"] + counts["timeout"] + counts["survived"] + counts["no tests"]
        share = (counts["killed"] + counts["timeout"]) / decided if decided else 0.0
        rows.append((module, len(codes), counts, share))
        survivors += [name for name, code in codes.items() if status(code) in ("survived", "no tests")]
        if decided and share < GOAL:
            short.append(module)
    print(f"{'module':34} {'mutants':>7} {'killed':>7} {'timeout':>7} {'survived':>8} {'no tests':>8} "
          f"{'not run':>7} {'killed %':>8}")
    for module, total, c, share in rows:
        print(f"{module:34} {total:7} {c['killed']:7} {c['timeout']:7} {c['survived']:8} {c['no tests']:8} "
              f"{c['not run']:7} {share:8.1%}")
    print(f"\n{len(survivors)} survivors:")
    for name in survivors:
        print(" ", name)
    if short:
        print(f"\nbelow the goal of {GOAL:.0%}: {', '.join(short)}")
    return 1 if short else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))

"""`make mutation`: each rule module's mutants against the tests written for it.

A mutant of the pricing rules is run against the pricing and settlement tests, not the thousand tests that merely
pass through pricing on their way to a screen: the question is whether the module's own tests pin its rule, and a
survivor then costs seconds, not the whole suite. Each module runs in a copy of the working tree of its own
(build/mutation/<module>/), with setup.cfg's [mutmut] settings plus the module and its tests; mutmut keeps its
results there (`cd build/mutation/pricing && ../../../.venv/bin/mutmut show NAME`). The table at the end is
tools/mutation_table.py's.

    python tools/mutation.py [--jobs 2] [--keep] [module ...]     (module: pricing, booking, scope, …)
"""
import argparse
import configparser
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import mutation_table  # noqa: E402

# module -> the tests that state its rule (cheapest modules first)
MODULES = {
    "workdays": ("app/services/workdays.py", ["tests/test_workdays.py", "tests/test_booking.py"]),
    "subsidies": ("app/services/money/subsidies.py", ["tests/test_subsidies.py", "tests/test_reports_subsidy.py"]),
    "fee_rules": ("app/services/catalogue/fee_rules.py", ["tests/test_fee_rules.py", "tests/test_fee_workflow.py"]),
    "scope": ("app/security/scope.py", ["tests/test_scope.py", "tests/test_related_scope.py", "tests/test_roles.py"]),
    "pricing": ("app/services/money/pricing.py", ["tests/test_pricing.py", "tests/test_settlement.py"]),
    "interlock": ("app/services/iot/interlock.py", ["tests/test_interlock.py", "tests/test_interlock_bridge.py"]),
    "booking": ("app/services/booking/bookings.py", ["tests/test_booking.py", "tests/test_booking_api.py"]),
    "authorisations": ("app/services/booking/authorisations.py", ["tests/test_booking.py", "tests/test_usage.py"]),
    "settlement": ("app/services/money/settlement.py", ["tests/test_settlement.py", "tests/test_pi_approval.py",
                                                        "tests/test_statements.py", "tests/test_settlement_api.py"]),
    "usage": ("app/services/booking/usage.py", ["tests/test_usage.py", "tests/test_settlement.py", "tests/test_interlock.py",
                                                "tests/test_evaluations.py", "tests/test_machine_time.py",
                                                "tests/test_batches.py"]),
}
SKIP = {".git", ".venv", ".venv-broker", "build", "mutants", "instance", "__pycache__", ".pytest_cache",
        "test-artifacts", "test-results"}


def prepare(name, module, tests, build, keep):
    copy = build / name
    if copy.exists() and not keep:
        shutil.rmtree(copy)
    if not copy.exists():
        shutil.copytree(ROOT, copy, ignore=lambda _dir, names: [n for n in names if n in SKIP])
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    config["mutmut"]["only_mutate"] = module
    config["mutmut"]["pytest_add_cli_args_test_selection"] = "\n" + "\n".join(tests)
    with open(copy / "setup.cfg", "w") as out:
        config.write(out)
    (copy / "instance").mkdir(exist_ok=True)
    return copy


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("modules", nargs="*", default=list(MODULES))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="resume from the copies' earlier results")
    args = parser.parse_args()
    build = ROOT / "build" / "mutation"
    build.mkdir(parents=True, exist_ok=True)
    mutmut = ROOT / ".venv" / "bin" / "mutmut"
    for name in args.modules:
        module, tests = MODULES[name]
        copy = prepare(name, module, tests, build, args.keep)
        env = dict(os.environ, TEST_DATABASE_TEMPLATE=str(copy / "instance" / "mutation-template.db"))
        for variable in ("DATABASE_URL", "MQTT_URL", "REDIS_URL"):  # SQLite and the embedded services
            env.pop(variable, None)
        print(f"== {module} against {' '.join(tests)}", flush=True)
        with open(copy / "mutmut.log", "w") as log:  # mutmut's own progress and, if it stops, why
            finished = subprocess.run([str(mutmut), "run", "--max-children", str(args.jobs)], cwd=copy, env=env,
                                      stdout=log, stderr=subprocess.STDOUT, check=False)
        if finished.returncode:
            print(f"   mutmut stopped ({finished.returncode}): see {copy / 'mutmut.log'}", flush=True)
    return mutation_table.main(*[build / name / "mutants" for name in args.modules])


if __name__ == "__main__":
    sys.exit(main())

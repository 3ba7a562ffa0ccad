"""Runs the API tests and prints TAP.

Each tests/api/test_*.py module defines functions named test_* that take
one argument, the Stack (see cairn.py).  A test passes when it returns and
fails when it raises; the failure and its traceback go out as TAP
diagnostics.  Modules run in name order (test_zz_* last: they disturb the
stack), tests in the order they are defined.  After every module the
runner checks the stack is still healthy (no pool worker died unless the
module says RESTARTS_EXPECTED = True).
"""
import argparse
import importlib.util
import inspect
import os
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cairn  # noqa: E402


def selected(spec):
    """CAIRN_API_TESTS=kv,tags:test_create -> {'test_kv': None, ...}"""
    if not spec:
        return None
    out = {}
    for item in spec.split(","):
        mod, _, test = item.partition(":")
        mod = mod if mod.startswith("test_") else "test_" + mod
        out.setdefault(mod, set())
        if test:
            out[mod].add(test)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--env", required=True)
    ap.add_argument("--src", required=True)
    args = ap.parse_args()
    stack = cairn.Stack(args.env, args.src)
    only = selected(os.environ.get("CAIRN_API_TESTS", ""))
    here = os.path.dirname(os.path.abspath(__file__))
    names = sorted(f[:-3] for f in os.listdir(here)
                   if f.startswith("test_") and f.endswith(".py"))
    n = 0
    failed = 0
    for name in names:
        if only is not None and name not in only:
            continue
        spec = importlib.util.spec_from_file_location(name, os.path.join(here, name + ".py"))
        mod = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(mod)
        except Exception:
            n += 1
            failed += 1
            print(f"not ok {n} - {name} (import failed)")
            for line in traceback.format_exc().splitlines():
                print("# " + line)
            continue
        tests = [(k, v) for k, v in vars(mod).items()
                 if k.startswith("test_") and inspect.isfunction(v)
                 and v.__module__ == mod.__name__]
        tests.sort(key=lambda kv: kv[1].__code__.co_firstlineno)
        restarts_before = stack.worker_restarts()
        for tname, fn in tests:
            if only is not None and only[name] and tname not in only[name]:
                continue
            n += 1
            t0 = time.monotonic()
            try:
                fn(stack)
                print(f"ok {n} - {name}.{tname} ({time.monotonic() - t0:.2f}s)")
            except Exception:
                failed += 1
                print(f"not ok {n} - {name}.{tname}")
                for line in traceback.format_exc().splitlines():
                    print("# " + line)
            sys.stdout.flush()
        if not getattr(mod, "RESTARTS_EXPECTED", False):
            n += 1
            after = stack.worker_restarts()
            if after == restarts_before:
                print(f"ok {n} - {name}: no pool worker died")
            else:
                failed += 1
                print(f"not ok {n} - {name}: {after - restarts_before} pool worker(s) died")
                for line in stack.log_tail(40):
                    print("# " + line)
    print(f"1..{n}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

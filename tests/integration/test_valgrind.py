"""The engine under valgrind (docs/reliability.md).

A representative subset of the integration tests -- settle golden, invalid
rows aborted and quarantined, dry run, conflicts, unchanged and superseding
re-runs, distribute golden, unchanged and conflicting -- plus usage and config errors
and a lost connection, with every engine command run under valgrind
(harness: CS_VALGRIND=1). Any memory error, or a definitely lost block, makes
the command exit 99 instead of its expected code, so the cases fail.

Skipped in the AddressSanitizer build (CS_SANITIZE=1): valgrind cannot run
ASan binaries, and ASan checks the same things there.
"""
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from harness import BINARY_FP, Runner, TestDB  # noqa: E402
import reliability as rel  # noqa: E402
import test_distribute  # noqa: E402
import test_settle  # noqa: E402


def errors_and_usage(t):
    db = TestDB()
    good = db.write_config(test_settle.BASE_CONFIG)
    bad = db.write_config("version: 1\ncurrency: EUR\nfees: [{id: x, rate: 0x10}]\n", "bad.yaml")
    r = db.run("check-config", bad)
    t.eq(r.code, 2, "check-config error: %r" % r)
    r = db.run("settle", "--config", bad, "--period", "2026-11")
    t.eq(r.code, 2, "settle with a bad config: %r" % r)
    r = db.run("settle", "--config", good, "--period", "2026-13")
    t.eq(r.code, 2, "bad period: %r" % r)
    r = db.run("settle", "--config", good, "--period", "2026-11", "--json",
               "--no-such-option")
    t.eq(r.code, 2, "unknown option: %r" % r)
    r = db.run("distribute", "--config", good, "--period", "2026-11")
    t.eq(r.code, 2, "distribute without a surplus section: %r" % r)
    db.drop()
    nodb = TestDB(init=False)
    r = nodb.run("settle", "--config", good, "--period", "2026-11")
    t.eq(r.code, 2, "settle without the schema: %r" % r)
    nodb.drop()
    r = db.run("settle", "--config", good, "--period", "2026-11")  # database dropped
    t.eq(r.code, 2, "cannot connect (no such database): %r" % r)


def lost_connection(t):
    """The error paths after a lost connection free what they allocated."""
    if not BINARY_FP:
        t.check(False, "CS_BINARY_FP is not set: run through scripts/test.sh")
        return
    db = TestDB()
    rel.add_members(db, 50)
    rel.add_day(db, "2026-11-02", 10000, 1)  # more than the socket buffers hold
    path = db.write_config(rel.CONFIG)
    for point, which in (("during_read", "reader"), ("before_commit", "writer")):
        e = rel.Engine(db, ["settle", "--config", path, "--period", "2026-11-02"],
                       binary=BINARY_FP, env={"CS_FAILPOINT_SLEEP": point + ":60000"})
        t.check(e.wait_paused(120), "valgrind engine reached %s" % point)
        t.check(rel.terminate(db, rel.backends(db, which)), "terminated the " + which)
        e.wake()
        r = e.wait(300)
        t.eq(r.code, 1, "lost connection at %s under valgrind: %r" % (point, r))
    r = db.run("settle", "--config", path, "--period", "2026-11-02")
    t.eq(r.code, 0, "re-run %r" % r)
    db.drop()


CASES = [
    test_settle.golden_basic, test_settle.invalid_abort, test_settle.invalid_quarantine,
    test_settle.run_behaviour, test_distribute.golden,
    errors_and_usage, lost_connection,
]


def main():
    t = Runner()
    if rel.SANITIZE:
        print("skipped: valgrind cannot run the AddressSanitizer build")
        t.finish()
    if not shutil.which("valgrind"):
        t.check(False, "valgrind is not installed (scripts/lib/common.sh CS_DEPS lists it)")
        t.finish()
    os.environ["CS_VALGRIND"] = "1"
    started = time.time()
    for case in CASES:
        t0 = time.time()
        t.case(case)
        print("%s: %.1fs" % (case.__name__, time.time() - t0), flush=True)
    print("%d cases under valgrind in %.1fs" % (len(CASES), time.time() - started))
    t.finish()


if __name__ == "__main__":
    main()

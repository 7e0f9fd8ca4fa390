"""Crash atomicity (spec section 7, docs/reliability.md).

The engine is killed with SIGKILL at every named fail point of settle and
distribute, fresh and superseding, at random rows and COPY chunks, and after
random delays while a 100k-row window streams into COPY. After each kill the
database holds every run whole (lines balanced per currency, line_count equal
to the posted lines, totals and reversals present, chain intact) or not at
all, and the kill either changed nothing or added exactly one committed run.
At the end a re-run succeeds and leaves exactly one committed run per window,
with the hashes of a dry run.
"""
import os
import random
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from harness import BINARY_FP, Runner, TestDB  # noqa: E402
import reliability as rel  # noqa: E402

BIG_DAY, SMALL_DAY = "2026-11-02", "2026-11-03"
BIG_ROWS = 30000 if rel.SANITIZE else 100000
SMALL_ROWS = 12000
TIMER_KILLS = 4 if rel.SANITIZE else 13
DIST = ["--period", SMALL_DAY]


class Crash:
    def __init__(self, t, db, path, rng):
        self.t, self.db, self.path, self.rng = t, db, path, rng
        self.kills = 0
        self.started = time.time()

    def settle(self, day, *more):
        return ["settle", "--config", self.path, "--period", day] + list(more)

    def distribute(self, *more):
        return ["distribute", "--config", self.path] + DIST + list(more)

    def before(self):
        since = rel.last_run_id(self.db)
        return since, rel.snapshot(self.db, since)

    def after(self, before, what, expect):
        """Checks the state after a kill against before (from self.before()):
        expect is 'none', 'run' or a tuple of allowed outcomes."""
        t, db = self.t, self.db
        since, before = before
        t.check(rel.wait_quiet(db), what + ": the killed engine's backends end")
        got = rel.outcome(before, rel.snapshot(db, since))
        if isinstance(expect, tuple):
            t.check(got in expect, "%s: outcome %s, want one of %s" % (what, got, expect))
        else:
            t.eq(got, expect, what + ": outcome")
        t.eq(rel.problems(db, since), [], what + ": invariants")
        return got

    def kill_at(self, point, args, expect="none"):
        before = self.before()
        r = self.db.run(*args, binary=BINARY_FP, env={"CS_FAILPOINT": point})
        what = "%s killed at %s" % (args[0], point)
        self.t.eq(r.code, -9, "%s: SIGKILL at the point: %r" % (what, r))
        self.kills += r.code == -9
        self.after(before, what, expect)

    def kill_after(self, args, delay, what):
        """Starts the engine, SIGKILLs it after delay seconds unless it ended;
        returns True if it was killed."""
        before = self.before()
        p = self.db.spawn(*args)
        try:
            p.communicate(timeout=delay)
            killed = False
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            killed = True
        what = "%s after %.3fs" % (what, delay)
        if killed:
            self.kills += 1
            self.after(before, what + " (killed)", ("none", "run"))
        else:
            self.t.eq(p.returncode, 0, what + ": ended before the kill, exit 0")
            self.after(before, what + " (ended)", ("none", "run"))
        return killed

    def mutate(self, day):
        """Changes one row of day, so the next run's output differs."""
        self.db.sql("UPDATE coopsettle.transactions SET amount_minor = amount_minor + %s"
                    " WHERE id = (SELECT id FROM coopsettle.transactions WHERE occurred_at >="
                    " (%s || ' 00:00:00 Europe/Berlin')::timestamptz AND currency = 'EUR'"
                    " ORDER BY id OFFSET %s LIMIT 1)",
                    (self.rng.randint(1000, 5000), day, self.rng.randint(0, 999)))


def named_points(c):
    """Every fail point of a fresh and a superseding settle, then distribute."""
    rng = c.rng
    fresh = ["after_lock", "during_read:1", "during_read:%d" % rng.randint(2, SMALL_ROWS),
             "during_read:%d" % rng.randint(2, SMALL_ROWS), "during_read:%d" % SMALL_ROWS,
             "during_copy:1", "during_copy:2", "during_copy:3",
             "after_read", "before_totals", "before_record", "before_commit"]
    for p in fresh:
        c.kill_at(p, c.settle(SMALL_DAY))
    c.kill_at("after_commit", c.settle(SMALL_DAY), "run")
    r = c.db.run(*c.settle(SMALL_DAY))
    c.t.check(r.code == 0 and "unchanged" in r.stdout,
              "the run committed before the kill is there: unchanged, exit 0 %r" % r)

    c.mutate(SMALL_DAY)
    superseding = ["after_lock", "during_read:%d" % rng.randint(1, SMALL_ROWS),
                   "during_copy:%d" % rng.randint(1, 3), "after_read", "before_totals",
                   "before_record", "after_supersede", "before_commit"]
    for p in superseding:
        c.kill_at(p, c.settle(SMALL_DAY, "--supersede", "--reason", "test correction"))
    c.kill_at("after_commit", c.settle(SMALL_DAY, "--supersede", "--reason", "test correction"), "run")


def timers(c):
    """SIGKILL after random delays while a big window streams into COPY."""
    t0 = time.time()
    r = c.db.run(*c.settle(BIG_DAY))
    full = time.time() - t0
    c.t.eq(r.code, 0, "big window settles: %r" % r)
    print("big window (%d rows): %.2fs" % (BIG_ROWS, full), flush=True)
    killed = tries = 0
    while killed < TIMER_KILLS and tries < 3 * TIMER_KILLS:
        tries += 1
        if c.rng.random() < 0.7:
            c.mutate(BIG_DAY)  # a run that ends supersedes with new figures
        delay = c.rng.uniform(0.05, 0.9 * full)
        killed += c.kill_after(c.settle(BIG_DAY, "--supersede", "--reason", "test correction"), delay, "settle big window")
    c.t.eq(killed, TIMER_KILLS, "timer kills landed before the runs ended")


def distribute_points(c):
    for p in ("distribute_after_lock", "distribute_after_read", "distribute_during_copy",
              "distribute_before_write", "before_record", "before_commit"):
        c.kill_at(p, c.distribute())
    c.kill_at("after_commit", c.distribute(), "run")
    c.mutate(SMALL_DAY)
    r = c.db.run(*c.settle(SMALL_DAY, "--supersede", "--reason", "test correction"))
    c.t.eq(r.code, 0, "settle small day again: %r" % r)
    for p in ("distribute_after_lock", "distribute_after_read", "distribute_during_copy",
              "distribute_before_write", "before_record", "after_supersede", "before_commit"):
        c.kill_at(p, c.distribute("--supersede", "--reason", "test correction"))
    t0 = time.time()
    r = c.db.run(*c.distribute("--dry-run"))
    full = time.time() - t0
    killed = tries = 0
    while killed < 3 and tries < 10:
        tries += 1
        killed += c.kill_after(c.distribute("--supersede", "--reason", "test correction"), c.rng.uniform(0.01, full),
                               "distribute")
    c.mutate(SMALL_DAY)
    c.db.run(*c.settle(SMALL_DAY, "--supersede", "--reason", "test correction"))
    c.kill_at("after_commit", c.distribute("--supersede", "--reason", "test correction"), "run")


def final(c):
    t, db = c.t, c.db
    for args in (c.settle(BIG_DAY, "--supersede", "--reason", "test correction", "--json"),
                 c.settle(SMALL_DAY, "--supersede", "--reason", "test correction", "--json"), c.distribute("--supersede", "--reason", "test correction", "--json")):
        r = db.run(*args)
        t.eq(r.code, 0, "re-run %s succeeds: %r" % (args, r))
        t.check(r.code == 0 and r.json()["status"] in ("committed", "unchanged"),
                "re-run status %r" % r)
        if BIG_DAY not in args:
            r = db.run(*args)
            t.check(r.code == 0 and r.json()["status"] == "unchanged",
                    "a second re-run is unchanged: %r" % r)
    for kind, args, start in (("settle", c.settle(BIG_DAY), "2026-11-02T00:00:00+01:00"),
                              ("settle", c.settle(SMALL_DAY), "2026-11-03T00:00:00+01:00"),
                              ("distribute", c.distribute(), "2026-11-03T00:00:00+01:00")):
        r = db.run(*(args + ["--dry-run", "--json"]))
        t.eq(r.code, 0, "dry run %r" % r)
        t.eq(rel.committed_hashes(db, kind, start), [rel.comparable(kind, r.json()["hashes"])],
             "exactly one committed %s run of %s, with the dry run's hashes" % (kind, start))
    t.eq(db.sql("SELECT count(*) FROM coopsettle.runs WHERE status = 'committed'")[0][0], 3,
         "three committed runs in all")
    t.eq(rel.problems(db), [], "final invariants")
    t.eq(db.sql("SELECT count(*) FROM coopsettle.runs")[0][0] >= 6, True,
         "the supersede kills left superseded runs behind")


def main():
    t = Runner()
    if not BINARY_FP:
        t.check(False, "CS_BINARY_FP is not set: run through scripts/test.sh, which builds it")
        t.finish()
    rng = random.Random(rel.seed())
    db = TestDB()
    rel.fast_checks(db)
    rel.add_members(db)
    rel.add_day(db, BIG_DAY, BIG_ROWS, 1)
    rel.add_day(db, SMALL_DAY, SMALL_ROWS, 1000001)
    c = Crash(t, db, db.write_config(rel.CONFIG), rng)
    for step in (named_points, timers, distribute_points, final):
        t0 = time.time()
        t.case(lambda t_, s=step: s(c))
        print("%s: %.1fs, %d kills so far" % (step.__name__, time.time() - t0, c.kills),
              flush=True)
    if not rel.SANITIZE:
        t.check(c.kills >= 50, "at least 50 kill points (got %d)" % c.kills)
    print("%d SIGKILLs in %.1fs" % (c.kills, time.time() - c.started))
    db.drop()
    t.finish()


if __name__ == "__main__":
    main()

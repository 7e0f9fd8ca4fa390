"""Concurrent runs of one window (spec section 7, docs/reliability.md).

In each trial 2 to 8 engines start together on the same window: plain
settles, --supersede settles, a mix, superseding a committed run whose input
changed, and distributes. The advisory lock serialises them: exactly one
commits; the others find its run of their window and report 'unchanged'
(exit 0, with or without --supersede: spec 10.4). The ledger never holds a line twice: over all runs of the window, posted
lines minus reversals equal exactly the committed run's lines. In every
other trial each engine pauses 100 ms right after taking the lock (a fail
point), so the others certainly queue on it.
"""
import datetime
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from harness import BINARY_FP, Runner, TestDB  # noqa: E402
import reliability as rel  # noqa: E402

TRIALS = 20 if rel.SANITIZE else 50
ROWS_PER_DAY = 100
KINDS = ["plain", "supersede", "mixed", "resupersede", "distribute"]


def day_of(i):
    return (datetime.date(2026, 10, 1) + datetime.timedelta(days=i)).isoformat()


def start_text(day):
    # October days before the 25th are CEST, later ones CET
    return day + ("T00:00:00+02:00" if day < "2026-10-26" else "T00:00:00+01:00")


def net_differs(db, kind, start):
    """Lines of the window's runs, posted minus reversed, that differ from the
    committed run's posted lines (both ways)."""
    return db.sql(
        "WITH w AS (SELECT id, status FROM coopsettle.runs WHERE kind = %(k)s AND"
        " window_from_text = %(s)s), net AS (SELECT transaction_id, journal, line_no, account,"
        " party_id, currency, sum(amount_minor) AS a FROM coopsettle.ledger_lines WHERE run_id IN"
        " (SELECT id FROM w) GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(amount_minor) <> 0),"
        " cur AS (SELECT transaction_id, journal, line_no, account, party_id, currency,"
        " amount_minor AS a FROM coopsettle.ledger_lines WHERE entry = 'post' AND run_id IN"
        " (SELECT id FROM w WHERE status = 'committed'))"
        " (SELECT * FROM net EXCEPT ALL SELECT * FROM cur)"
        " UNION ALL (SELECT * FROM cur EXCEPT ALL SELECT * FROM net)", {"k": kind, "s": start})


def trial(t, db, path, rng, i, kind, n):
    day = day_of(i)
    start = start_text(day)
    settle = ["settle", "--config", path, "--period", day, "--json"]
    what = "trial %d (%s, %d engines)" % (i, kind, n)
    if kind in ("resupersede", "distribute"):
        r = db.run(*settle)
        t.eq(r.code, 0, what + ": first settle %r" % r)
    if kind == "resupersede":
        db.sql("UPDATE coopsettle.transactions SET amount_minor = amount_minor + 100000 WHERE"
               " id = %s", (i * 1000 + 1,))
    if kind == "plain":
        flags = [False] * n
    elif kind == "mixed":
        flags = [rng.random() < 0.5 for _ in range(n)]
        flags[0], flags[1] = False, True
    else:
        flags = [True] * n
    run_kind = "distribute" if kind == "distribute" else "settle"
    args = (["distribute", "--config", path, "--period", day, "--json"] if kind == "distribute"
            else settle)
    since = rel.last_run_id(db)
    env, binary = None, None
    if BINARY_FP and i % 2:
        point = "distribute_after_lock" if kind == "distribute" else "after_lock"
        env, binary = {"CS_FAILPOINT_SLEEP": point + ":100"}, BINARY_FP
    procs = [db.spawn(*(args + (["--supersede", "--reason", "test correction"] if f else [])), env=env, binary=binary)
             for f in flags]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        results.append((p.returncode, out, err))
    committed = db.sql("SELECT id FROM coopsettle.runs WHERE kind = %s AND status = 'committed'"
                       " AND window_from_text = %s", (run_kind, start))
    new = db.sql("SELECT id FROM coopsettle.runs WHERE id > %s", (since,))
    t.eq(len(committed), 1, what + ": one committed run of the window")
    t.eq(len(new), 1, what + ": exactly one new run")
    winner = committed[0][0] if committed else None
    n_committed = 0
    for f, (code, out, err) in zip(flags, results):
        if code == 0:
            st = rel_json(out)
            if st.get("status") == "committed":
                n_committed += 1
                t.eq(st.get("run_id"), winner, what + ": the committing engine names its run")
            else:
                t.check(st.get("status") == "unchanged" and st.get("run_id") == winner,
                        what + ": a loser reports unchanged: %r %s" % (st.get("status"), err))
        else:
            t.check(False, what + ": a loser exits 0 (unchanged): exit %d %s" % (code, err))
    t.eq(n_committed, 1, what + ": exactly one engine committed")
    t.eq(net_differs(db, run_kind, start), [], what + ": no ledger line duplicated or lost")
    if i % 10 == 9:
        t.eq(rel.problems(db, since), [], what + ": invariants")
    return n


def rel_json(out):
    import json
    try:
        return json.loads(out)
    except ValueError:
        return {}


def main():
    t = Runner()
    rng = random.Random(rel.seed())
    started = time.time()
    db = TestDB()
    rel.add_members(db, 300)
    for i in range(TRIALS):
        rel.add_day(db, day_of(i), ROWS_PER_DAY, i * 1000 + 1)
    path = db.write_config(rel.CONFIG)
    engines = 0
    for i in range(TRIALS):
        kind = KINDS[i % len(KINDS)]
        n = 2 + i % 7 if i < 7 else rng.randint(2, 8)
        t.case(lambda t_, i=i, kind=kind, n=n: trial(t_, db, path, rng, i, kind, n))
        engines += n
    t.eq(rel.problems(db), [], "final invariants")
    print("%d trials, %d engines in %.1fs" % (TRIALS, engines, time.time() - started))
    db.drop()
    t.finish()


if __name__ == "__main__":
    main()

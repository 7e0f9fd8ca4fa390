"""Shared pieces of the reliability tests (docs/reliability.md): data sets,
the invariants every database state must satisfy after a crash, and an
engine handle that can be paused at a fail point and woken again.
"""
import os
import random
import signal
import threading
import time

import harness

SANITIZE = os.environ.get("CS_SANITIZE") == "1"

CONFIG = {
    "version": 1,
    "cooperative": "Crash Test eG",
    "currency": "EUR",
    "currencies": {"EUR": 2, "CHF": 2},
    "timezone": "Europe/Berlin",
    "rounding": "half_even",
    "on_invalid": "quarantine",
    "fees": [
        {"id": "guest-buyers", "when": {"consumer_member": False}, "rate": "9%",
         "min": "0.50", "borne_by": {"producer": "2/3", "consumer": "1/3"}},
        {"id": "standard", "tiers": [{"up_to": "100.00", "rate": "8%"}, {"rate": "5%"}],
         "fixed": "0.10"},
    ],
    "surplus": {
        "costs": {"amount": {"EUR": "100.00", "CHF": "10.00"}},
        "steps": [
            {"id": "legal-reserve", "type": "account", "share": "10%",
             "account": "equity:reserves:legal"},
            {"id": "capital-interest", "type": "capital_interest", "rate": "3%",
             "cap_share": "20%"},
            {"id": "patronage-refund", "type": "patronage", "share": "remaining",
             "classes": {"producer": "60%", "consumer": "40%"}, "cash_fraction": "20%"},
        ],
    },
}

OUTPUT_TABLES = ("ledger_lines", "party_totals", "currency_totals", "settlement_rejects",
                 "distribution_steps", "member_allocations")


def seed():
    """The run's seed: CS_SEED, or a fresh one (printed, so it can be repeated)."""
    s = int(os.environ.get("CS_SEED") or random.SystemRandom().randrange(1, 10 ** 9))
    print("seed %d (CS_SEED=%d repeats this run)" % (s, s), flush=True)
    return s


def add_members(db, n=2000):
    """n members: even ids producers, odd ids consumers, some with capital."""
    db.sql("INSERT INTO coopsettle.members SELECT g, CASE WHEN g %% 2 = 0 THEN 'producer'"
           " ELSE 'consumer' END, '2020-01-01', NULL, CASE WHEN g %% 3 = 0 THEN 100000 * (g %% 7)"
           " ELSE 0 END FROM generate_series(1, %s) g", (n,))


def add_day(db, day, n, first_id):
    """n transactions (ids first_id..) on local day `day` (YYYY-MM-DD), mixed
    EUR/CHF, members and guests, sales and refunds, one invalid row (quarantined)."""
    db.sql("INSERT INTO coopsettle.transactions SELECT %(b)s + g,"
           " (%(d)s || ' 00:00:00 Europe/Berlin')::timestamptz + (g %% 86000) * interval '1 second',"
           " 2 * (g %% 997) + 2, CASE WHEN g %% 7 = 0 THEN NULL ELSE 2 * (g %% 991) + 1 END,"
           " (g * 7919) %% 60000 - 6000, CASE WHEN g %% 5 = 0 THEN 'CHF' ELSE 'EUR' END,"
           " 'crafts' FROM generate_series(1, %(n)s) g", {"b": first_id - 1, "d": day, "n": n})
    db.sql("INSERT INTO coopsettle.transactions VALUES (%s, %s, 2, 3, 100, 'USD', 'x')",
           (first_id + n, day + " 12:00:00+01"))


def fast_checks(db):
    """Killed runs leave the ledger full of dead rows faster than autovacuum
    analyses it, and the planner then scans the whole table for the checks
    below, which only look at the newest runs: make it use the indexes."""
    db.sql("SET enable_seqscan = off")


def last_run_id(db):
    """The highest run id: every row a run started later writes has a larger
    run_id (run ids are the highest id + 1, drawn under the lock; a run that
    fails leaves no row)."""
    v = db.sql("SELECT coalesce(max(id), 0) FROM coopsettle.runs")[0][0]
    return int(v)


def snapshot(db, since):
    """What a crash must either leave alone or extend by one whole run: the
    run records, and the rows of every output table written by runs started
    after `since` (rows of earlier runs are append-only)."""
    runs = db.sql("SELECT id, kind, window_from_us, window_to_us, status, output_sha256"
                  " FROM coopsettle.runs ORDER BY id")
    counts = tuple(db.sql("SELECT count(*) FROM coopsettle.%s WHERE run_id > %%s" % t,
                          (since,))[0][0] for t in OUTPUT_TABLES)
    return runs, counts


def wait_quiet(db, timeout=30):
    """Waits until no engine backend is left in db's database (a killed
    engine's backend rolls back when it notices the closed socket)."""
    end = time.time() + timeout
    while time.time() < end:
        n = db.sql("SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE datname = %s"
                   " AND application_name = 'coopsettle'", (db.name,))[0][0]
        if n == 0:
            return True
        time.sleep(0.02)
    return False


def problems(db, since=0, n_currencies=2):
    """Every invariant of spec section 7 that a database state must satisfy
    whatever happened to the runs writing it; rows are checked for the runs
    after `since` (0: all of them, slower). Returns a list of findings."""
    found = []

    def q(sql, what):
        rows = db.sql(sql)
        if rows:
            found.append("%s: %r" % (what, rows[:5]))

    for t in OUTPUT_TABLES:
        q("SELECT x.run_id, count(*) FROM coopsettle.%s x WHERE x.run_id > %d AND NOT EXISTS"
          " (SELECT 1 FROM coopsettle.runs r WHERE r.id = x.run_id) GROUP BY 1" % (t, since),
          "rows of no run in " + t)
    q("SELECT r.id, r.line_count, (SELECT count(*) FROM coopsettle.ledger_lines l WHERE"
      " l.run_id = r.id AND l.entry = 'post') n FROM coopsettle.runs r WHERE r.id > %d AND"
      " r.line_count <> (SELECT count(*) FROM coopsettle.ledger_lines l WHERE l.run_id = r.id"
      " AND l.entry = 'post')" % since, "line_count differs from the posted lines")
    q("SELECT r.id FROM coopsettle.runs r WHERE r.line_count = 0", "run without lines")
    q("SELECT run_id, entry, currency, sum(amount_minor) FROM coopsettle.ledger_lines"
      " WHERE run_id > %d GROUP BY 1, 2, 3 HAVING sum(amount_minor) <> 0" % since,
      "unbalanced run")
    q("SELECT r.id, r.supersedes FROM coopsettle.runs r WHERE r.id > %d AND"
      " r.supersedes IS NOT NULL AND"
      " (SELECT count(*) FROM coopsettle.ledger_lines l WHERE l.run_id = r.id AND"
      " l.entry = 'reversal') <> (SELECT count(*) FROM coopsettle.ledger_lines l WHERE"
      " l.run_id = r.supersedes AND l.entry = 'post')" % since, "reversal incomplete")
    q("SELECT r.id FROM coopsettle.runs r WHERE r.id > %d AND r.supersedes IS NULL AND"
      " EXISTS (SELECT 1 FROM"
      " coopsettle.ledger_lines l WHERE l.run_id = r.id AND l.entry = 'reversal')"
      % since, "reversal lines in a run that supersedes nothing")
    q("SELECT r.id FROM coopsettle.runs r WHERE r.status = 'superseded' AND (SELECT count(*)"
      " FROM coopsettle.runs s WHERE s.supersedes = r.id) <> 1",
      "superseded run without exactly one successor")
    q("SELECT r.id FROM coopsettle.runs r WHERE r.supersedes IS NOT NULL AND (SELECT status"
      " FROM coopsettle.runs s WHERE s.id = r.supersedes) <> 'superseded'",
      "successor of a run still committed")
    q("SELECT a.id, b.id FROM coopsettle.runs a JOIN coopsettle.runs b ON a.kind = b.kind"
      " AND a.id < b.id AND a.window_from_us < b.window_to_us AND b.window_from_us <"
      " a.window_to_us WHERE a.status = 'committed' AND b.status = 'committed'",
      "overlapping committed runs")
    q("SELECT r.id FROM coopsettle.runs r WHERE r.kind = 'settle' AND (SELECT count(*) FROM"
      " coopsettle.currency_totals c WHERE c.run_id = r.id) <> %d" % n_currencies,
      "settle run without its currency totals")
    q("SELECT r.id FROM coopsettle.runs r WHERE r.kind = 'settle' AND NOT EXISTS (SELECT 1"
      " FROM coopsettle.party_totals p WHERE p.run_id = r.id)",
      "settle run without party totals")
    q("SELECT r.id FROM coopsettle.runs r WHERE r.kind = 'distribute' AND NOT EXISTS"
      " (SELECT 1 FROM coopsettle.distribution_steps d WHERE d.run_id = r.id)",
      "distribute run without its steps")
    q("SELECT r.id FROM coopsettle.runs r WHERE r.prev_record_sha256 IS DISTINCT FROM"
      " (SELECT p.record_sha256 FROM coopsettle.runs p WHERE p.id < r.id ORDER BY p.id DESC"
      " LIMIT 1)", "broken run chain")
    if since == 0:
        q("SELECT transaction_id, line_no, count(*) FROM coopsettle.ledger_lines WHERE"
          " run_id = ANY (ARRAY(SELECT id FROM coopsettle.runs WHERE status = 'committed'"
          " AND kind = 'settle')) AND entry = 'post' GROUP BY 1, 2 HAVING count(*) > 1",
          "ledger line posted twice by committed runs")
    return found


def outcome(before, after):
    """'none' when the state did not change, 'run' when exactly one new
    committed run was added (superseding at most one), else a description."""
    if after == before:
        return "none"
    runs0, runs1 = before[0], after[0]
    old = {r[0]: r for r in runs0}
    new = [r for r in runs1 if r[0] not in old]
    gone = [r for r in runs0 if r[0] not in {x[0] for x in runs1}]
    changed = [r for r in runs1 if r[0] in old and old[r[0]] != r]
    if (len(new) == 1 and not gone and new[0][4] == "committed" and len(changed) <= 1
            and all(c[4] == "superseded" and old[c[0]][4] == "committed" for c in changed)):
        return "run"
    return "new %r gone %r changed %r counts %r -> %r" % (new, gone, changed, before[1], after[1])


def comparable(kind, hashes):
    """The hashes a committed run shares with a later dry run. A distribute
    input names the settle runs by id, and an 'unchanged' distribute keeps
    the committed run (same output) after a settle run was superseded, so
    only its config and output hashes are compared."""
    if kind == "distribute":
        return {k: hashes[k] for k in ("config", "output")}
    return dict(hashes)


def committed_hashes(db, kind, from_text):
    rows = db.sql("SELECT config_sha256, input_sha256, output_sha256 FROM coopsettle.runs"
                  " WHERE kind = %s AND status = 'committed' AND window_from_text = %s",
                  (kind, from_text))
    return [comparable(kind, {"config": a, "input": b, "output": c}) for a, b, c in rows]


class Engine:
    """A running engine whose stdout and stderr are collected by threads, so
    a test can wait for the line a paused fail point prints."""

    def __init__(self, db, args, env=None, binary=None):
        self.proc = db.spawn(*args, env=env, binary=binary)
        self.out = []
        self.err = []
        self.paused = threading.Event()
        self.t_out = threading.Thread(target=self._pump, args=(self.proc.stdout, self.out))
        self.t_err = threading.Thread(target=self._pump, args=(self.proc.stderr, self.err))
        self.t_out.start()
        self.t_err.start()

    def _pump(self, f, into):
        for line in f:
            into.append(line)
            if "failpoint" in line and "paused" in line:
                self.paused.set()

    def wait_paused(self, timeout=60):
        end = time.time() + timeout
        while time.time() < end:
            if self.paused.wait(0.05):
                return True
            if self.proc.poll() is not None:
                return False
        return False

    def wake(self):
        try:
            os.kill(self.proc.pid, signal.SIGUSR1)
        except ProcessLookupError:
            pass

    def kill(self):
        try:
            self.proc.kill()
        except ProcessLookupError:
            pass

    def wait(self, timeout=600):
        try:
            code = self.proc.wait(timeout)
        except Exception:
            self.kill()
            code = self.proc.wait()
        self.t_out.join()
        self.t_err.join()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return harness.Result(_Done(code, "".join(self.out), "".join(self.err)))


class _Done:
    def __init__(self, code, out, err):
        self.returncode = code
        self.stdout = out
        self.stderr = err


def backends(db, which):
    """pids of the engine's backends in db: 'writer' holds the advisory lock,
    'reader' is the other one, 'both' all of them."""
    rows = db.sql("SELECT a.pid, EXISTS (SELECT 1 FROM pg_catalog.pg_locks l WHERE"
                  " l.pid = a.pid AND l.locktype = 'advisory' AND l.granted) FROM"
                  " pg_catalog.pg_stat_activity a WHERE a.datname = %s AND"
                  " a.application_name = 'coopsettle'", (db.name,))
    if which == "both":
        return [p for p, _ in rows]
    return [p for p, w in rows if w == (which == "writer")]


def terminate(db, pids, timeout=90):
    """Terminates the backends pids and waits until they are gone. A backend
    normally goes in well under a second; the generous timeout is for a
    machine loaded by the parallel crash, valgrind and concurrency tests,
    where one case once took over 30 s (the call returns when they are gone)."""
    for p in pids:
        db.sql("SELECT pg_catalog.pg_terminate_backend(%s)", (p,))
    end = time.time() + timeout
    while time.time() < end:
        if not db.sql("SELECT 1 FROM pg_catalog.pg_stat_activity WHERE pid = ANY(%s)",
                      (list(pids),)):
            return True
        time.sleep(0.02)
    return False

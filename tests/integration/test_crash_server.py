"""Server crashes in the middle of runs (spec section 7, docs/reliability.md).

PostgreSQL is stopped in immediate mode (pg_ctl stop -m immediate: no
shutdown checkpoint, crash recovery at the next start) while settle and
distribute run: after random delays while a big window streams into COPY,
and with the engine paused at fail points (CS_FAILPOINT_SLEEP) in reading,
writing, superseding and just before COMMIT. The server is started again
each time; the engine must exit 1 saying the connection was lost, and the
recovered database must hold every run whole or not at all. At the end a
re-run succeeds and leaves one committed run per window with the hashes of a
dry run.

This test runs a cluster of its own (scripts/lib/common.sh, cs_pg_cmd and
cs_pg_exec_server): the shared cluster serves other tests meanwhile.
"""
import os
import pwd
import random
import shutil
import subprocess
import sys
import time

import psycopg2

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import harness  # noqa: E402
from harness import BINARY_FP, Runner, TestDB  # noqa: E402
import reliability as rel  # noqa: E402

BIG_DAY, SMALL_DAY = "2026-11-02", "2026-11-03"
BIG_ROWS = 20000 if rel.SANITIZE else 60000
SMALL_ROWS = 5000
TIMER_STOPS = 1 if rel.SANITIZE else 3
COMMON = os.path.join(harness.SOURCE_DIR, "scripts", "lib", "common.sh")


class Cluster:
    """A throw-away cluster next to the shared one's data directory."""

    def __init__(self):
        self.dir = os.path.join(os.path.dirname(os.environ["CS_PG_DATA"]), "crash-server")
        self.data = os.path.join(self.dir, "data")
        self.sock = os.path.join(self.dir, "sock")
        self.log = os.path.join(self.dir, "postgresql.log")
        self.port = os.environ["PGPORT"]
        self.proc = None
        self.stops = 0
        self._stop_stale()
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.sock)
        if os.geteuid() == 0:
            pw = pwd.getpwnam(os.environ.get("CS_PG_OS_USER", "coopsettle-pg"))
            for d in (self.dir, self.sock):
                os.chown(d, pw.pw_uid, pw.pw_gid)
        self.pg("initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--encoding=UTF8",
                "--no-locale")
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("\nlisten_addresses = ''\nport = %s\nunix_socket_directories = '%s'\n"
                    % (self.port, self.sock))
        self.start()

    def pg(self, *args):
        """Runs a PostgreSQL program as the cluster user (cs_pg_cmd)."""
        p = subprocess.run(["bash", "-c", 'source "$0" && cs_pg_cmd "$@"', COMMON] + list(args),
                           capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if p.returncode != 0:
            raise RuntimeError("%s failed: %s %s" % (args[0], p.stdout, p.stderr))

    def _stop_stale(self):
        pid_file = os.path.join(self.data, "postmaster.pid")
        if os.path.exists(pid_file):
            try:
                self.pg("pg_ctl", "stop", "-D", self.data, "-m", "immediate", "-t", "30")
            except RuntimeError:
                pass

    def start(self):
        log = open(self.log, "ab")
        self.proc = subprocess.Popen(
            ["bash", "-c", 'source "$0" && cs_pg_exec_server "$1"', COMMON, self.data],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        end = time.time() + 60
        while time.time() < end:
            if subprocess.run([os.path.join(os.environ["CS_PG_BIN"], "pg_isready"), "-q", "-h",
                               self.sock, "-p", self.port, "-t", "1"]).returncode == 0:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("the crash-test server did not start; see " + self.log)

    def stop_immediate(self):
        self.pg("pg_ctl", "stop", "-D", self.data, "-m", "immediate", "-t", "30")
        self.proc.wait(30)
        self.stops += 1

    def close(self):
        if self.proc and self.proc.poll() is None:
            try:
                self.stop_immediate()
            except Exception:  # noqa: BLE001 - last resort
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def reconnect(db):
    try:
        db.conn.close()
    except Exception:  # noqa: BLE001 - it died with the server
        pass
    db.conn = psycopg2.connect(dbname=db.name)
    db.conn.autocommit = True


class Trials:
    def __init__(self, t, cluster, db, path, rng):
        self.t, self.cluster, self.db, self.path, self.rng = t, cluster, db, path, rng

    def settle(self, day, *more):
        return ["settle", "--config", self.path, "--period", day] + list(more)

    def distribute(self, *more):
        return ["distribute", "--config", self.path, "--period", SMALL_DAY] + list(more)

    def crash(self, what, run, expect):
        """run() starts the engine and stops the server at its moment,
        returning the engine's result; then the server is started again
        and the recovered state checked."""
        t, db = self.t, self.db
        since = rel.last_run_id(db)
        before = rel.snapshot(db, since)
        r = run()
        self.cluster.start()
        reconnect(db)
        got = rel.outcome(before, rel.snapshot(db, since))
        if r.code == 0:
            t.check(got in ("none", "run"), "%s: ended before the stop: %s" % (what, got))
        else:
            t.eq(r.code, 1, "%s: exit 1: %r" % (what, r))
            t.check("connection lost" in r.stderr, "%s: says the connection was lost: %s"
                    % (what, r.stderr))
            if "may or may not have been committed" in r.stderr:
                t.check(got in ("none", "run"), "%s: lost during COMMIT: %s" % (what, got))
            else:
                t.check("nothing was written" in r.stderr,
                        "%s: says nothing was written: %s" % (what, r.stderr))
                t.eq(got, "none", "%s: nothing was written" % what)
        if expect is not None:
            t.eq(got, expect, what + ": outcome")
        t.eq(rel.problems(db), [], what + ": invariants after recovery")

    def at_point(self, point, args):
        def run():
            e = rel.Engine(self.db, args, binary=BINARY_FP,
                           env={"CS_FAILPOINT_SLEEP": point + ":60000"})
            ok = e.wait_paused()
            self.t.check(ok, "engine reached %s" % point)
            self.cluster.stop_immediate()
            e.wake()
            return e.wait(120)
        self.crash("%s stopped at %s" % (args[0], point), run, "none")

    def after_delay(self, args, full):
        delay = self.rng.uniform(0.1, 0.9 * full)

        def run():
            p = self.db.spawn(*args)
            try:
                p.wait(delay)
            except subprocess.TimeoutExpired:
                self.cluster.stop_immediate()
            out, err = p.communicate(timeout=120)
            return harness.Result(subprocess.CompletedProcess(args, p.returncode, out, err))
        self.crash("%s stopped after %.2fs" % (args[0], delay), run, None)


def trials(tr):
    t, db = tr.t, tr.db
    r = db.run(*tr.settle(SMALL_DAY))
    t.eq(r.code, 0, "settle small day: %r" % r)
    r = db.run(*tr.distribute())
    t.eq(r.code, 0, "distribute: %r" % r)
    t0 = time.time()
    r = db.run(*tr.settle(BIG_DAY, "--dry-run"))
    full = 4 * (time.time() - t0)  # a committed run takes several times a dry run
    for _ in range(TIMER_STOPS):
        tr.after_delay(tr.settle(BIG_DAY, "--supersede", "--reason", "test correction"), full)
    tr.at_point("during_read", tr.settle(BIG_DAY, "--supersede", "--reason", "test correction"))
    tr.at_point("during_copy", tr.settle(BIG_DAY, "--supersede", "--reason", "test correction"))
    # a run that ended before its timed stop committed these rows: change
    # one, so this run writes instead of finding its figures unchanged
    db.sql("UPDATE coopsettle.transactions SET amount_minor = amount_minor + 77777"
           " WHERE id = %s", (tr.rng.randint(1, BIG_ROWS),))
    tr.at_point("before_commit", tr.settle(BIG_DAY, "--supersede", "--reason", "test correction"))
    db.sql("UPDATE coopsettle.transactions SET amount_minor = amount_minor + 123456"
           " WHERE id = %s", (1000006,))
    tr.at_point("after_supersede", tr.settle(SMALL_DAY, "--supersede", "--reason", "test correction"))
    r = db.run(*tr.settle(SMALL_DAY, "--supersede", "--reason", "test correction"))
    t.eq(r.code, 0, "settle small day again: %r" % r)
    tr.at_point("distribute_before_write", tr.distribute("--supersede", "--reason", "test correction"))
    tr.at_point("before_commit", tr.distribute("--supersede", "--reason", "test correction"))


def final(tr):
    t, db = tr.t, tr.db
    for args in (tr.settle(BIG_DAY, "--supersede", "--reason", "test correction", "--json"),
                 tr.settle(SMALL_DAY, "--supersede", "--reason", "test correction", "--json"), tr.distribute("--supersede", "--reason", "test correction", "--json")):
        r = db.run(*args)
        t.check(r.code == 0 and r.json()["status"] in ("committed", "unchanged"),
                "re-run %s: %r" % (args, r))
    for kind, args, start in (("settle", tr.settle(BIG_DAY), "2026-11-02T00:00:00+01:00"),
                              ("settle", tr.settle(SMALL_DAY), "2026-11-03T00:00:00+01:00"),
                              ("distribute", tr.distribute(), "2026-11-03T00:00:00+01:00")):
        r = db.run(*(args + ["--dry-run", "--json"]))
        t.eq(r.code, 0, "dry run %r" % r)
        t.eq(rel.committed_hashes(db, kind, start), [rel.comparable(kind, r.json()["hashes"])],
             "exactly one committed %s run of %s, with the dry run's hashes" % (kind, start))
    t.eq(db.sql("SELECT count(*) FROM coopsettle.runs WHERE status = 'committed'")[0][0], 3,
         "three committed runs in all")
    t.eq(rel.problems(db), [], "final invariants")


def main():
    t = Runner()
    if not BINARY_FP:
        t.check(False, "CS_BINARY_FP is not set: run through scripts/test.sh, which builds it")
        t.finish()
    rng = random.Random(rel.seed())
    started = time.time()
    cluster = Cluster()
    try:
        os.environ["PGHOST"] = cluster.sock  # TestDB and the engine follow libpq's environment
        db = TestDB()
        rel.add_members(db, 500)
        rel.add_day(db, BIG_DAY, BIG_ROWS, 1)
        rel.add_day(db, SMALL_DAY, SMALL_ROWS, 1000001)
        tr = Trials(t, cluster, db, db.write_config(rel.CONFIG), rng)
        t.case(lambda t_: trials(tr))
        t.case(lambda t_: final(tr))
        t.check(cluster.stops >= (4 if rel.SANITIZE else 5),
                "immediate stops: %d" % cluster.stops)
        print("%d immediate stops in %.1fs" % (cluster.stops, time.time() - started))
    finally:
        cluster.close()
    t.finish()


if __name__ == "__main__":
    main()

"""Lost connections (spec sections 7 and 8, docs/reliability.md).

The engine is paused at a fail point (CS_FAILPOINT_SLEEP) while it reads,
computes, writes, supersedes and just before COMMIT; a second session
terminates its writer, its reader or both backends (found by
application_name 'coopsettle' and the advisory lock), and the engine is
woken. Each time it must exit 1 saying the database connection was lost and
nothing was written, nothing may be written, and a re-run succeeds.

A connection lost during COMMIT itself is different: the server may have
committed. A proxy between the engine and the server drops the writer's
connection right after the server's answer to COMMIT. The engine must then
find out on a new connection whether its run landed (exit 0 with the run
committed), or, when the server cannot be reached (the proxy refuses new
connections), say that the run may or may not have been committed -- never
"nothing was written" -- and a re-run must find the committed run.
"""
import os
import socket
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from harness import BINARY_FP, Runner, TestDB  # noqa: E402
import reliability as rel  # noqa: E402

ROWS_PER_DAY = 1000
# Days where the reader is cut while reading hold more than the socket
# buffers (about 200 kB): with less, the server has sent the whole COPY
# before it is terminated, and the read succeeds.
ROWS_PER_READ_DAY = 10000

# (command, fail point, backends to terminate)
SETTLE_CASES = [
    ("settle", "after_lock", "writer"),
    ("settle", "after_lock", "reader"),
    ("settle", "during_read", "reader"),
    ("settle", "during_read", "writer"),
    ("settle", "during_read", "both"),
    ("settle", "during_copy", "writer"),
    ("settle", "after_read", "writer"),
    ("settle", "after_read", "both"),
    ("settle", "before_totals", "writer"),
    ("settle", "before_record", "writer"),
    ("settle", "before_commit", "writer"),
    ("settle", "before_commit", "both"),
    ("dry-run", "during_read", "reader"),
    ("supersede", "before_record", "writer"),
    ("supersede", "after_supersede", "writer"),
    ("supersede", "before_commit", "writer"),
]
DISTRIBUTE_CASES = [
    ("distribute", "distribute_after_lock", "reader"),
    ("distribute", "distribute_after_lock", "writer"),
    ("distribute", "distribute_after_read", "writer"),
    ("distribute", "distribute_during_copy", "writer"),
    ("distribute", "distribute_before_write", "writer"),
    ("distribute", "before_record", "writer"),
    ("distribute", "before_commit", "writer"),
    ("distribute-supersede", "after_supersede", "writer"),
]


def day_of(i):
    return "2026-11-%02d" % (i + 1)


def args_for(path, kind, day):
    if kind in ("settle", "supersede", "dry-run"):
        a = ["settle", "--config", path, "--period", day]
    else:
        a = ["distribute", "--config", path, "--period", day]
    if kind in ("supersede", "distribute-supersede"):
        a += ["--supersede", "--reason", "test correction"]
    if kind == "dry-run":
        a.append("--dry-run")
    return a


def mutate(db, day):
    db.sql("UPDATE coopsettle.transactions SET amount_minor = amount_minor + 500000 WHERE id ="
           " (SELECT min(id) FROM coopsettle.transactions WHERE occurred_at >="
           " (%s || ' 00:00:00 Europe/Berlin')::timestamptz AND currency = 'EUR')", (day,))


def lost_case(t, db, path, i, case):
    kind, point, which = case
    day = day_of(i)
    what = "%s paused at %s, %s terminated" % (kind, point, which)
    if kind in ("supersede", "distribute", "distribute-supersede"):
        r = db.run("settle", "--config", path, "--period", day)
        t.eq(r.code, 0, what + ": settle first %r" % r)
    if kind == "distribute-supersede":
        r = db.run("distribute", "--config", path, "--period", day)
        t.eq(r.code, 0, what + ": distribute first %r" % r)
    if kind in ("supersede", "distribute-supersede"):
        mutate(db, day)
        if kind == "distribute-supersede":
            r = db.run("settle", "--config", path, "--period", day, "--supersede", "--reason", "test correction")
            t.eq(r.code, 0, what + ": settle again %r" % r)
    args = args_for(path, kind, day)
    since = rel.last_run_id(db)
    before = rel.snapshot(db, since)
    e = rel.Engine(db, args, binary=BINARY_FP, env={"CS_FAILPOINT_SLEEP": point + ":60000"})
    paused = e.wait_paused()
    t.check(paused, what + ": engine reached the point")
    pids = rel.backends(db, which) if paused else []
    want = 1 if which in ("reader", "writer") else 2
    if kind == "dry-run" or (point == "after_lock" and which == "reader"):
        want = 1
    t.eq(len(pids), want, what + ": backends found %r" % pids)
    t.check(rel.terminate(db, pids), what + ": backends gone")
    e.wake()
    r = e.wait(120)
    t.eq(r.code, 1, what + ": exit 1: %r" % r)
    t.check("database connection lost" in r.stderr and "nothing was written" in r.stderr,
            what + ": the message says so: %s" % r.stderr)
    t.check(rel.wait_quiet(db), what + ": backends end")
    t.eq(rel.outcome(before, rel.snapshot(db, since)), "none", what + ": nothing written")
    t.eq(rel.problems(db, since), [], what + ": invariants")
    r = db.run(*args)
    t.eq(r.code, 0, what + ": a re-run succeeds: %r" % r)


class CommitDropProxy:
    """A Unix-socket proxy in front of the server that forwards everything,
    except that on the connection that took the advisory lock (the writer)
    it swallows the server's CommandComplete of COMMIT and closes both
    sides: the server has committed, the client never hears of it."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="cs-proxy-")
        self.port = os.environ["PGPORT"]
        self.upstream = os.path.join(os.environ["PGHOST"], ".s.PGSQL." + self.port)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(os.path.join(self.dir, ".s.PGSQL." + self.port))
        self.listener.listen(16)
        self.dropped = 0
        self.refuse_after = None  # refuse new connections once dropped exceeds it
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.refuse_after is not None and self.dropped > self.refuse_after:
                client.close()
                continue
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            server.connect(self.upstream)
            state = {"writer": False, "closed": False}
            threading.Thread(target=self._up, args=(client, server, state), daemon=True).start()
            threading.Thread(target=self._down, args=(server, client, state), daemon=True).start()

    @staticmethod
    def _close(a, b, state):
        state["closed"] = True
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _up(self, client, server, state):
        tail = b""
        while not state["closed"]:
            try:
                data = client.recv(65536)
            except OSError:
                return
            if not data:
                return self._close(client, server, state)
            if b"pg_advisory_xact_lock" in tail + data:
                state["writer"] = True
            tail = data[-32:]
            try:
                server.sendall(data)
            except OSError:
                return

    def _down(self, server, client, state):
        buf = b""
        while not state["closed"]:
            try:
                data = server.recv(65536)
            except OSError:
                return
            if not data:
                return self._close(client, server, state)
            buf += data
            out = b""
            while len(buf) >= 5:
                n = 1 + int.from_bytes(buf[1:5], "big")
                if len(buf) < n:
                    break
                msg, buf = buf[:n], buf[n:]
                if state["writer"] and msg[:1] == b"C" and msg[5:].startswith(b"COMMIT"):
                    if out:
                        client.sendall(out)
                    self.dropped += 1
                    return self._close(client, server, state)
                out += msg
            try:
                if out:
                    client.sendall(out)
            except OSError:
                return

    def close(self):
        self.listener.close()
        try:
            os.unlink(os.path.join(self.dir, ".s.PGSQL." + self.port))
        except OSError:
            pass
        os.rmdir(self.dir)


def commit_lost(t, db, path, proxy, kind, day, refuse):
    args = args_for(path, kind, day) + ["--json"]
    if kind == "distribute":
        r = db.run("settle", "--config", path, "--period", day)
        t.eq(r.code, 0, "settle before distribute: %r" % r)
    before = proxy.dropped
    proxy.refuse_after = before if refuse else None
    r = db.run(*args, env={"PGHOST": proxy.dir})
    proxy.refuse_after = None
    what = "%s losing its connection in COMMIT%s" % (
        kind, ", server unreachable" if refuse else "")
    t.eq(proxy.dropped, before + 1, what + ": the proxy dropped the COMMIT answer")
    t.check(rel.wait_quiet(db), what + ": backends end")
    committed = db.sql("SELECT id FROM coopsettle.runs WHERE kind = %s AND status = 'committed'"
                       " AND window_from_text = %s", (args[0], day + "T00:00:00+01:00"))
    t.eq(len(committed), 1, what + ": the server did commit the run")
    if refuse:
        t.eq(r.code, 1, what + ": exit 1 %r" % r)
        t.check("connection lost during COMMIT" in r.stderr and
                "may or may not have been committed" in r.stderr,
                what + ": says the run may have been committed: %s" % r.stderr)
        t.check("nothing was written" not in r.stderr,
                what + ": does not claim that nothing was written: %s" % r.stderr)
        t.check(committed and ("run %d" % committed[0][0]) in r.stderr,
                what + ": the message names the run: %s" % r.stderr)
    else:
        t.eq(r.code, 0, what + ": the engine finds its run committed, exit 0: %r" % r)
        t.check(r.code == 0 and committed and r.json()["run_id"] == committed[0][0] and
                r.json()["status"] == "committed", what + ": statement of the run %r" % r)
    t.eq(rel.problems(db), [], what + ": invariants")
    r = db.run(*args[:-1])
    t.check(r.code == 0 and "unchanged" in r.stdout,
            what + ": a re-run finds the committed run (unchanged, exit 0): %r" % r)
    r = db.run(*(args + ["--supersede", "--reason", "test correction"]))
    t.check(r.code == 0 and r.json()["status"] == "unchanged",
            what + ": with --supersede it is unchanged: %r" % r)


def reader_after_read(t, db, path, day, abort):
    """The reader is cut after it read everything: the read is complete and
    consistent, so the run goes on -- it commits, or with invalid rows and
    on_invalid: abort exits 3 (invalid data), not 1."""
    if abort:
        path = db.write_config(dict(rel.CONFIG, on_invalid="abort"), "abort.yaml")
    args = ["settle", "--config", path, "--period", day]
    what = "reader cut after the read%s" % (", on_invalid: abort" if abort else "")
    e = rel.Engine(db, args, binary=BINARY_FP, env={"CS_FAILPOINT_SLEEP": "after_read:60000"})
    t.check(e.wait_paused(), what + ": engine reached after_read")
    t.check(rel.terminate(db, rel.backends(db, "reader")), what + ": reader gone")
    e.wake()
    r = e.wait(120)
    if abort:
        t.eq(r.code, 3, what + ": exit 3 for the invalid row: %r" % r)
        t.check("invalid transaction" in r.stderr, what + ": names the invalid row %r" % r)
    else:
        t.eq(r.code, 0, what + ": the run commits: %r" % r)
    t.eq(rel.problems(db), [], what + ": invariants")


def main():
    t = Runner()
    if not BINARY_FP:
        t.check(False, "CS_BINARY_FP is not set: run through scripts/test.sh, which builds it")
        t.finish()
    db = TestDB()
    rel.add_members(db, 500)
    cases = SETTLE_CASES + DISTRIBUTE_CASES
    for i in range(len(cases) + 6):
        reads = i < len(cases) and cases[i][1] == "during_read"
        rel.add_day(db, day_of(i), ROWS_PER_READ_DAY if reads else ROWS_PER_DAY,
                    1 + 100000 * i)
    path = db.write_config(rel.CONFIG)
    for i, case in enumerate(cases):
        t.case(lambda t_, i=i, case=case: lost_case(t_, db, path, i, case))
    for k, abort in enumerate((False, True)):
        t.case(lambda t_, k=k, abort=abort: reader_after_read(
            t_, db, path, day_of(len(cases) + 4 + k), abort))
    proxy = CommitDropProxy()
    try:
        for k, (kind, refuse) in enumerate((("settle", False), ("settle", True),
                                            ("distribute", False), ("distribute", True))):
            t.case(lambda t_, k=k, kind=kind, refuse=refuse: commit_lost(
                t_, db, path, proxy, kind, day_of(len(cases) + k), refuse))
    finally:
        proxy.close()
    t.eq(rel.problems(db), [], "final invariants")
    print("%d lost-connection cases, 2 reader losses after the read, 4 lost COMMITs"
          % len(cases))
    db.drop()
    t.finish()


if __name__ == "__main__":
    main()

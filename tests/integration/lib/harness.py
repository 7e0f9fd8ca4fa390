"""Test harness for coopsettle integration tests.

Each test gets its own database in the private cluster that scripts/test.sh
started (PGHOST etc. in the environment), runs the real coopsettle binary
(CS_BINARY) against it, and compares with expectations computed by the
independent reference model in reference.py.
"""
import json
import os
import subprocess
import sys
import tempfile
import uuid

import psycopg2

BINARY = os.environ.get("CS_BINARY", "coopsettle")
# The build with fail points (scripts/test.sh builds it; docs/reliability.md).
BINARY_FP = os.environ.get("CS_BINARY_FP")
# CS_VALGRIND=1 runs every engine command under valgrind: any error, or a
# definitely lost block, makes it exit 99 (tests/integration/test_valgrind.py).
VALGRIND = ["valgrind", "--quiet", "--error-exitcode=99", "--leak-check=full",
            "--errors-for-leak-kinds=definite", "--show-leak-kinds=definite"]


def command(binary, conninfo, args):
    """The argv that runs binary (default CS_BINARY) with --db conninfo."""
    cmd = [binary or BINARY, "--db", conninfo] + list(args)
    if os.environ.get("CS_VALGRIND") == "1":
        cmd = VALGRIND + cmd
    return cmd
SOURCE_DIR = os.environ.get("CS_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..", ".."))


class Result:
    def __init__(self, proc):
        self.code = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    def json(self):
        return json.loads(self.stdout)

    def __repr__(self):
        return "exit %d\nstdout: %s\nstderr: %s" % (self.code, self.stdout[:2000], self.stderr[:2000])


class TestDB:
    """A fresh database with the coopsettle schema."""

    def __init__(self, name=None, init=True, encoding=None):
        self.name = name or "t_" + uuid.uuid4().hex[:12]
        admin = psycopg2.connect(dbname="postgres")
        admin.autocommit = True
        with admin.cursor() as cur:
            if encoding:  # e.g. LATIN1 or SQL_ASCII, with the C locale
                cur.execute('CREATE DATABASE "%s" ENCODING \'%s\' LC_COLLATE \'C\''
                            ' LC_CTYPE \'C\' TEMPLATE template0' % (self.name, encoding))
            else:
                cur.execute('CREATE DATABASE "%s"' % self.name)
        admin.close()
        self.conn = psycopg2.connect(dbname=self.name)
        self.conn.autocommit = True
        self.tmp = tempfile.mkdtemp(prefix="cs_test_")
        if init:
            r = self.run("init-db")
            assert r.code == 0, r

    def conninfo(self):
        return "dbname=%s" % self.name

    def run(self, *args, env=None, binary=None):
        e = dict(os.environ)
        if env:
            e.update(env)
        proc = subprocess.run(command(binary, self.conninfo(), args),
                              capture_output=True, text=True, env=e, timeout=600)
        return Result(proc)

    def spawn(self, *args, env=None, binary=None):
        """Starts the engine without waiting: a subprocess.Popen with text
        pipes for stdout and stderr (the caller waits or kills it)."""
        e = dict(os.environ)
        if env:
            e.update(env)
        return subprocess.Popen(command(binary, self.conninfo(), args), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=e)

    def sql(self, query, params=None):
        with self.conn.cursor() as cur:
            cur.execute(query, params)
            if cur.description is not None:
                return cur.fetchall()
            return None

    def stored_statement(self, run_id, without):
        """The statement stored in run run_id's record, and the --json
        statement dict `without` minus the list the record leaves out
        (settle: parties, distribute: members; docs/auditing.md)."""
        stored = json.loads(self.sql("SELECT statement FROM coopsettle.runs WHERE id = %s",
                                     (run_id,))[0][0])
        key = "parties" if without["kind"] == "settle" else "members"
        return stored, {k: v for k, v in without.items() if k != key}

    def write_config(self, cfg, name="config.yaml"):
        path = os.path.join(self.tmp, name)
        with open(path, "w", encoding="utf-8") as f:
            if isinstance(cfg, str):
                f.write(cfg)
            else:  # characters as themselves: YAML reads no surrogate pairs
                json.dump(cfg, f, indent=1, ensure_ascii=False)
        return path

    def add_members(self, rows):
        """rows: (id, class, joined_on, left_on, capital)"""
        with self.conn.cursor() as cur:
            for r in rows:
                cur.execute("INSERT INTO coopsettle.members VALUES (%s,%s,%s,%s,%s)", r)

    def add_transactions(self, rows):
        """rows: (id, occurred_at, producer, consumer, amount, currency, category)"""
        if not rows:
            return
        with self.conn.cursor() as cur:
            args = ",".join(cur.mogrify("(%s,%s,%s,%s,%s,%s,%s)", r).decode() for r in rows)
            cur.execute("INSERT INTO coopsettle.transactions VALUES " + args)

    def drop(self):
        self.conn.close()
        admin = psycopg2.connect(dbname="postgres")
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % self.name)
        admin.close()


class Runner:
    """Counts checks and prints the closing line ctest and CI read."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, cond, what):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL: %s" % what, flush=True)

    def eq(self, got, want, what):
        if got == want:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL: %s\n  got:  %r\n  want: %r" % (what, got, want), flush=True)

    def case(self, fn):
        """Runs fn(self); an exception counts as a failure."""
        try:
            fn(self)
        except Exception as e:  # noqa: BLE001 - report and go on
            import traceback
            traceback.print_exc()
            self.failed += 1
            print("FAIL: %s raised %r" % (fn.__name__, e), flush=True)

    def finish(self):
        print("%d passed, %d failed" % (self.passed, self.failed))
        sys.exit(1 if self.failed else 0)

"""Golden cases: tests/golden/<case>/{config.yaml, setup.sql, commands,
expected.json}. Each case runs in a fresh database; the statement of the
last command must equal expected.json exactly (hashes included).
CS_GOLDEN_UPDATE=1 rewrites expected.json (review the diff by hand)."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from harness import SOURCE_DIR, Runner, TestDB  # noqa: E402

GOLDEN = os.path.join(SOURCE_DIR, "tests", "golden")


def run_case(t, name):
    d = os.path.join(GOLDEN, name)
    db = TestDB()
    with open(os.path.join(d, "setup.sql")) as f:
        db.sql(f.read())
    with open(os.path.join(d, "commands")) as f:
        commands = [line.split() for line in f if line.strip()]
    result = None
    for cmd in commands:
        cmd = [os.path.join(d, a) if a == "config.yaml" else a for a in cmd]
        result = db.run(*cmd)
        t.eq(result.code, 0, "%s: %s exits 0 (%r)" % (name, " ".join(cmd), result))
    got = result.json()
    path = os.path.join(d, "expected.json")
    if os.environ.get("CS_GOLDEN_UPDATE") == "1":
        with open(path, "w") as f:
            json.dump(got, f, indent=1, sort_keys=False)
            f.write("\n")
    with open(path) as f:
        want = json.load(f)
    t.eq(got, want, "%s: statement equals expected.json" % name)
    db.drop()


def main():
    t = Runner()
    for name in sorted(os.listdir(GOLDEN)):
        if os.path.isdir(os.path.join(GOLDEN, name)):
            t.case(lambda t_, n=name: run_case(t_, n))
    t.finish()


if __name__ == "__main__":
    main()

"""The nightly schedule against the server's real clock (issue 17; spec
section 10.4; docs/operations.md, "Nightly schedule").

No fake clock: the windows lie in the past and the future of the database
server's now(), in the config's time zone. The test runs the documented
nightly sequence -- `settle --period yesterday`, then `status` -- and its
retry; shows that today and tomorrow are refused as open; that `status`
names the days a missed night left unsettled; and that a late transaction
in a closed, settled day is reported by `status` as drift, refused by a
plain re-run (exit 4), fixed by `--supersede --reason`, and that the
distribute run built on the corrected day is then named stale until it is
replaced too.
"""
import datetime
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from harness import Runner, TestDB  # noqa: E402

TZ = "Europe/Berlin"
CONFIG = {
    "version": 1,
    "cooperative": "Nightly eG",
    "currency": "EUR",
    "currencies": {"EUR": 2},
    "timezone": TZ,
    "close_after": "0h",
    "fees": [{"id": "standard", "rate": "8%", "fixed": "0.10"}],
    "surplus": {
        "costs": {"amount": {"EUR": "0.50"}},
        "steps": [
            {"id": "reserve", "type": "account", "share": "10%", "account": "equity:reserves"},
            {"id": "refund", "type": "patronage", "share": "remaining",
             "classes": {"producer": "100%"}},
        ],
    },
}
MEMBERS = [(1, "producer", "2020-01-01", None, 0), (2, "producer", "2020-01-01", None, 0),
           (10, "consumer", "2020-01-01", None, 0)]


def at(day, time="12:00"):
    """A local time of day in TZ, as timestamptz text the server reads."""
    return "%s %s %s" % (day.isoformat(), time, TZ)


def scheduler(t):
    db = TestDB()
    path = db.write_config(CONFIG)
    db.add_members(MEMBERS)
    today = db.sql("SELECT (pg_catalog.now() AT TIME ZONE %s)::date", (TZ,))[0][0]
    day = {k: today - datetime.timedelta(days=k) for k in (-1, 0, 1, 2, 3)}
    yesterday, two_ago, three_ago, tomorrow = day[1], day[2], day[3], day[-1]
    rows = [(10 + k, at(day[k]), 1 + (k % 2), 10, 1000 * (k + 5), "EUR", "crafts")
            for k in (3, 2, 1, 0, -1)]
    db.add_transactions(rows)
    settle = ["settle", "--config", path]
    status = ["status", "--config", path, "--json"]

    # before the first night: yesterday is missing
    r = db.run(*status)
    t.eq(r.code, 5, "status before any run: exit 5: %r" % r)
    t.eq(r.json()["missing_days"] if r.stdout else r, [yesterday.isoformat()],
         "status names yesterday, the last closed day")

    # the nightly sequence
    r = db.run(*(settle + ["--period", "yesterday", "--json"]))
    t.eq(r.code, 0, "settle --period yesterday: %r" % r)
    night = r.json() if r.code == 0 else {}
    t.check(night.get("window", {}).get("from", "").startswith(yesterday.isoformat()),
            "yesterday is the local day before the server's today: %r" % night.get("window"))
    r = db.run(*status)
    t.eq(r.code, 0, "status after the nightly settle: exit 0: %r" % r)
    st = r.json() if r.code == 0 else {}
    t.eq([x["id"] for x in st.get("runs", [])], [night.get("run_id")], "status lists the run")
    t.eq((st.get("missing_days"), st.get("stale_runs"), st.get("ok")), ([], [], True),
         "nothing missing or stale")
    # the unit's retry, or a second timer: unchanged, exit 0
    r = db.run(*(settle + ["--period", "yesterday", "--json"]))
    t.eq((r.code, r.json()["status"] if r.code == 0 else r), (0, "unchanged"),
         "the nightly settle again: unchanged")

    # today and tomorrow have not closed: refused, nothing written
    for args in (["--period", today.isoformat()], ["--period", tomorrow.isoformat()],
                 ["--from", yesterday.isoformat(), "--to", tomorrow.isoformat()]):
        r = db.run(*(settle + args))
        t.eq(r.code, 2, "%s is open: exit 2: %r" % (args, r))
    r = db.run(*(["status", "--config", path, "--period", today.isoformat()]))
    t.eq(r.code, 0, "status of today: no closed day in it is missing: %r" % r)

    # two missed nights show over a longer window
    span = ["--from", three_ago.isoformat(), "--to", today.isoformat()]
    r = db.run(*(status + span))
    t.eq(r.code, 5, "missed nights: exit 5")
    t.eq(r.json()["missing_days"] if r.stdout else r,
         [three_ago.isoformat(), two_ago.isoformat()], "status names the missed nights")
    for d in (three_ago, two_ago):
        t.eq(db.run(*(settle + ["--period", d.isoformat()])).code, 0, "settle %s" % d)
    t.eq(db.run(*(status + span)).code, 0, "the span is complete")

    # a late transaction in a closed, settled day
    first = night.get("run_id")
    db.add_transactions([(99, at(yesterday, "23:59"), 2, 10, 777777, "EUR", "crafts")])
    r = db.run(*status)
    t.eq(r.code, 5, "status sees the late transaction: exit 5: %r" % r)
    stale = r.json()["stale_runs"] if r.stdout else []
    t.eq([x["id"] for x in stale], [first], "the settle run of yesterday is stale")
    t.check(stale and "inputs changed" in stale[0]["reason"], "as drift: %r" % stale)
    r = db.run("status", "--config", path)
    t.check(r.code == 5 and "inputs changed" in r.stdout, "the text report says so: %r" % r)
    r = db.run(*(settle + ["--period", yesterday.isoformat()]))
    t.eq(r.code, 4, "a plain re-run refuses: exit 4: %r" % r)
    t.check("--supersede --reason" in r.stderr, "and says how to replace it: %r" % r.stderr)
    r = db.run(*(settle + ["--period", yesterday.isoformat(), "--supersede", "--reason",
                           "late sale 99 booked after the nightly run", "--json"]))
    t.eq(r.code, 0, "--supersede --reason fixes it: %r" % r)
    fixed = r.json() if r.code == 0 else {}
    t.eq(fixed.get("currencies", {}).get("EUR", {}).get("transactions"), 2,
         "the late sale is settled")
    r = db.run(*status)
    t.eq(r.code, 0, "status is clean again: %r" % r)

    # a distribute run over the span is stale once a day under it is superseded
    r = db.run("distribute", "--config", path, *(span + ["--json"]))
    t.eq(r.code, 0, "distribute the span: %r" % r)
    dist = r.json()["run_id"] if r.code == 0 else None
    t.eq(db.run(*(status + span)).code, 0, "the span with its distribution is clean")
    db.add_transactions([(100, at(two_ago, "20:00"), 1, 10, 5000, "EUR", "crafts")])
    r = db.run(*(settle + ["--period", two_ago.isoformat(), "--supersede", "--reason",
                           "late sale 100", "--json"]))
    t.eq(r.code, 0, "supersede the day under the distribution: %r" % r)
    t.eq(r.json().get("stale_runs") if r.code == 0 else r, [dist], "it names the stale run")
    r = db.run(*(status + span))
    t.eq(r.code, 5, "status: the distribution is stale")
    stale = r.json()["stale_runs"] if r.stdout else []
    t.eq([x["id"] for x in stale], [dist], "only the distribute run")
    t.check(stale and "built on settle run" in stale[0]["reason"], "and why: %r" % stale)
    r = db.run("distribute", "--config", path, *(span + ["--supersede", "--reason",
                                                          "settle of %s corrected" % two_ago]))
    t.eq(r.code, 0, "the distribution is replaced: %r" % r)
    t.eq(db.run(*(status + span)).code, 0, "status is clean")
    t.eq(db.run("verify", "--chain").code, 0, "the chain verifies")
    ids = [x[0] for x in db.sql("SELECT id FROM coopsettle.runs ORDER BY id")]
    t.eq(ids, list(range(1, len(ids) + 1)), "run ids have no gaps")
    db.drop()


if __name__ == "__main__":
    t = Runner()
    t.case(scheduler)
    t.finish()

#!/usr/bin/env bash
# demo.sh -- build coopsettle, start a throw-away cluster and walk through
# the command line on the example configuration: load a month of a sample
# marketplace, settle it day by day, supersede a corrected day, distribute
# the month, verify the run chain and the distribution, and write the
# members' statements (build/demo-statements/).
#
# usage: scripts/demo.sh
#
# Each step is one function below, listed in main. The cluster is stopped
# at exit.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib/common.sh
source scripts/lib/common.sh
cd "$CS_ROOT"

BUILD_DIR="build"
CS_BIN="$BUILD_DIR/coopsettle"
CONFIG="config/example.yaml"
CS_HELP=""       # output of "coopsettle --help", filled by demo_setup
DEMO_DONE=()     # one line per step, printed by demo_summary

# ---------------------------------------------------------------- helpers

# demo_section TITLE: heading for one step.
demo_section()
{
	printf '\n=== %s ===\n' "$*"
}

# demo_run COMMAND...: show a command, then run it (set -e stops on failure).
demo_run()
{
	printf '$ %s\n' "$*"
	"$@"
}

# demo_has_command NAME: true if "coopsettle --help" lists command NAME.
demo_has_command()
{
	grep -qE "(^|[[:space:]])$1([[:space:]]|$)" <<<"$CS_HELP"
}

# ---------------------------------------------------------------- steps

demo_setup()
{
	demo_section "build"
	cs_install_deps
	cs_lock "$BUILD_DIR"
	cs_build "$BUILD_DIR"
	CS_HELP="$("$CS_BIN" --help 2>&1 || true)"
	DEMO_DONE+=("built $CS_BIN")
}

demo_start_db()
{
	demo_section "database"
	cs_pg_start "$BUILD_DIR"
	DEMO_DONE+=("started a private PostgreSQL 15 cluster (PGHOST=$PGHOST PGPORT=$PGPORT, database $PGDATABASE)")
}

demo_check_config()
{
	demo_section "check-config"
	demo_run "$CS_BIN" check-config "$CONFIG"
	DEMO_DONE+=("checked $CONFIG")
}

demo_init_db()
{
	demo_section "init-db"
	if ! demo_has_command init-db; then
		echo "coopsettle has no init-db command yet: skipped"
		DEMO_DONE+=("skipped init-db (not implemented yet)")
		return 0
	fi
	demo_run "$CS_BIN" --db "$PGDATABASE" init-db
	DEMO_DONE+=("created the schema in database $PGDATABASE")
}

demo_load()
{
	demo_section "sample cooperative: November 2026"
	psql -X -q -v ON_ERROR_STOP=1 -f scripts/demo/generate.sql
	psql -X -A -t -F ' ' -c "SELECT 'members:', count(*) FILTER (WHERE class = 'producer') || ' makers, '
		|| count(*) FILTER (WHERE class = 'consumer') || ' buyers' FROM marktplatz.members"
	psql -X -A -t -F ' ' -c "SELECT 'transactions:', count(*), 'of which refunds:',
		count(*) FILTER (WHERE amount_minor < 0), 'guests:', count(*) FILTER (WHERE consumer_id IS NULL),
		'in CHF:', count(*) FILTER (WHERE currency = 'CHF') FROM marktplatz.sales"
	DEMO_DONE+=("loaded 300 members and 40000 transactions of November 2026")
}

demo_settle()
{
	local day

	demo_section "settle, day by day"
	for day in $(seq -w 1 30); do
		"$CS_BIN" settle --config "$CONFIG" --period "2026-11-$day" --no-progress 2>&1 |
			awk -v d="2026-11-$day" 'NR == 1 { printf "%s  %s", d, $0 } /^  (EUR|CHF)/ { printf " |%s", substr($0, 3) } END { print "" }'
	done
	demo_section "the statement of one day (--dry-run --json, first 30 lines)"
	# sed reads to the end: head would close the pipe early and, with
	# pipefail, fail the demo on the writer's SIGPIPE/EPIPE
	"$CS_BIN" settle --config "$CONFIG" --period 2026-11-02 --dry-run --json |
		python3 -m json.tool | sed -n '1,30p'
	demo_section "re-running a day that is settled and unchanged: 'unchanged' (exit 0)"
	demo_run "$CS_BIN" settle --config "$CONFIG" --period 2026-11-02 --no-progress
	demo_section "an accountant corrects a row: the re-run says so (exit 4), then supersedes the day"
	psql -X -q -c "UPDATE marktplatz.sales SET amount_minor = amount_minor + 1000
		WHERE id = (SELECT min(id) FROM marktplatz.sales
		WHERE occurred_at >= '2026-11-02 00:00 Europe/Berlin' AND occurred_at < '2026-11-03 00:00 Europe/Berlin')"
	"$CS_BIN" settle --config "$CONFIG" --period 2026-11-02 --no-progress || echo "(exit $?)"
	demo_run "$CS_BIN" settle --config "$CONFIG" --period 2026-11-02 --supersede \
		--reason "refund of sale corrected by the accountant" --no-progress
	demo_run "$CS_BIN" settle --config "$CONFIG" --period 2026-11-02 --supersede \
		--reason "refund of sale corrected by the accountant" --no-progress
	DEMO_DONE+=("settled 30 days, superseded one corrected day")
}

demo_distribute()
{
	demo_section "distribute the month"
	demo_run "$CS_BIN" distribute --config "$CONFIG" --period 2026-11
	demo_section "members who receive the most (EUR)"
	psql -X -c "SELECT a.member_id, m.class, a.patronage_basis_minor AS basis,
		a.capital_interest_minor AS interest, a.patronage_minor AS refund, a.cash_minor AS cash,
		a.retained_minor AS retained
		FROM coopsettle.member_allocations a JOIN marktplatz.members m ON m.id = a.member_id
		WHERE a.currency = 'EUR' AND a.run_id = (SELECT max(id) FROM coopsettle.runs WHERE kind = 'distribute')
		ORDER BY a.capital_interest_minor + a.patronage_minor DESC, a.member_id LIMIT 10"
	demo_section "the ledger balances per currency"
	psql -X -c "SELECT currency, count(*) AS lines, sum(amount_minor) AS balance
		FROM coopsettle.ledger_lines GROUP BY currency ORDER BY currency"
	DEMO_DONE+=("distributed the November surplus")
}

demo_audit()
{
	local run member out="$CS_ROOT/build/demo-statements"

	run=$(psql -X -A -t -c "SELECT max(id) FROM coopsettle.runs WHERE kind = 'distribute'")
	member=$(psql -X -A -t -c "SELECT member_id FROM coopsettle.member_allocations
		WHERE run_id = $run AND currency = 'EUR'
		ORDER BY capital_interest_minor + patronage_minor DESC, member_id LIMIT 1")
	demo_section "an auditor checks the chain of runs and reproduces the distribution"
	demo_run "$CS_BIN" verify --chain
	demo_run "$CS_BIN" verify --run "$run"
	demo_section "the members' statements (notices of allocation)"
	rm -rf -- "$out"
	demo_run "$CS_BIN" statements --run "$run" --out "$out"
	printf '%s statements written to %s (text and HTML); member %s:\n\n' \
		"$(find "$out" -name '*.txt' | wc -l)" "$out" "$member"
	cat "$out/member-$member.txt"
	DEMO_DONE+=("verified the run chain and run $run, wrote the members' statements to $out")
}

# demo_fingerprint: SHA-256 of what the demo wrote -- the ledger lines, the
# run records and the statements, each without what names the moment of the
# run (created_at and the record hashes that cover it). The same tree, data
# and config give the same three hashes on every machine, on every run.
demo_fingerprint()
{
	local out="$CS_ROOT/build/demo-statements" lines runs statements

	demo_section "fingerprint"
	lines=$(psql -X -A -t -c "COPY (SELECT run_id, entry, journal, line_no, transaction_id,
		rule_id, account, party_id, currency, amount_minor FROM coopsettle.ledger_lines
		ORDER BY run_id, entry, journal, line_no) TO STDOUT" | sha256sum | cut -c1-64)
	runs=$(psql -X -A -t -c "COPY (SELECT id, kind, window_from_us, window_to_us, status,
		config_sha256, input_sha256, output_sha256, supersedes, line_count, statement
		FROM coopsettle.runs ORDER BY id) TO STDOUT" | sha256sum | cut -c1-64)
	statements=$(cd "$out" && find . -type f | LC_ALL=C sort |
		xargs grep -hv 'Run record SHA-256' | sha256sum | cut -c1-64)
	printf 'ledger lines  %s\nrun records   %s\nstatements    %s\n' "$lines" "$runs" "$statements"
	DEMO_DONE+=("fingerprint: ledger lines ${lines:0:12}, run records ${runs:0:12}, statements ${statements:0:12}")
}

demo_summary()
{
	local line

	demo_section "summary"
	for line in "${DEMO_DONE[@]}"; do
		printf -- '- %s\n' "$line"
	done
	printf 'postgres log: %s\n' "$CS_PG_LOG"
}

main()
{
	demo_setup
	demo_start_db
	demo_check_config
	demo_init_db
	demo_load
	demo_settle
	demo_distribute
	demo_audit
	demo_fingerprint
	demo_summary
}

main "$@"

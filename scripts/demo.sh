#!/usr/bin/env bash
# demo.sh -- build coopsettle, start a throw-away cluster and walk through
# three financial years of the German eG of config/example.yaml: load
# 2023-2025 of a sample marketplace (dated memberships, capital movements,
# sales, costs), settle them month by month, supersede a corrected month,
# show the 19% VAT on the fees and a sale before and after the fee
# schedule change of 15 July 2025, then distribute each year in turn -- a
# profit year that fills the legal reserve to its target, a loss year that
# the reserves cover and carry forward, a profit year that first covers
# the carried loss -- and show what the board sees of each; verify the run
# chain and the distributions, and write the members' statements
# (build/demo-statements/YEAR/); export the years for hledger, beancount
# and DATEV and write the board's report (build/demo-exports/).
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
DEMO_MEMBER=1    # the member whose figures the demo shows (a maker who also buys)
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
	local f files=()

	for f in config/*.yaml; do # config/accounts-*.yaml are export account maps
		[[ $f == config/accounts-* ]] || files+=("$f")
	done
	demo_section "check-config: the example configs"
	for f in "${files[@]}"; do
		demo_run "$CS_BIN" check-config "$f"
	done
	DEMO_DONE+=("checked the ${#files[@]} example configs, $CONFIG among them")
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
	demo_section "sample cooperative: the financial years 2023 to 2025"
	psql -X -q -v ON_ERROR_STOP=1 -f scripts/demo/generate.sql
	psql -X -A -t -F ' ' -c "SELECT 'memberships:', count(*) FILTER (WHERE class = 'producer') || ' as maker, '
		|| count(*) FILTER (WHERE class = 'consumer') || ' as buyer, of',
		count(DISTINCT id), 'members;', count(*) FILTER (WHERE left_on IS NOT NULL), 'ended'
		FROM marktplatz.memberships"
	psql -X -A -t -F ' ' -c "SELECT 'capital movements:', count(*) || ', paid in',
		to_char(sum(amount_minor) FILTER (WHERE amount_minor > 0) / 100.0, 'FM999G999D00'), 'EUR, repaid',
		to_char(-sum(amount_minor) FILTER (WHERE amount_minor < 0) / 100.0, 'FM999G999D00'), 'EUR'
		FROM marktplatz.capital"
	psql -X -A -t -F ' ' -c "SELECT extract(year FROM occurred_at AT TIME ZONE 'Europe/Berlin') || ':',
		count(*), 'sales (' || count(*) FILTER (WHERE amount_minor < 0) || ' refunds, '
		|| count(*) FILTER (WHERE consumer_id IS NULL) || ' to guests), gross',
		to_char(sum(amount_minor) / 100.0, 'FM999G999G999D00'), 'EUR'
		FROM marktplatz.sales GROUP BY 1 ORDER BY 1"
	psql -X -A -t -F ' ' -c "SELECT extract(year FROM booked_on) || ': operating costs',
		to_char(sum(amount_minor) / 100.0, 'FM999G999G999D00'), 'EUR'
		FROM marktplatz.operating_costs GROUP BY 1 ORDER BY 1"
	DEMO_DONE+=("loaded three years of a marketplace: 300 members, 114000 sales, capital and costs")
}

demo_settle()
{
	local year month

	demo_section "settle, month by month"
	for year in 2023 2024 2025; do
		for month in 01 02 03 04 05 06 07 08 09 10 11 12; do
			"$CS_BIN" settle --config "$CONFIG" --period "$year-$month" --no-progress 2>&1 |
				awk -v p="$year-$month" 'NR == 1 { printf "%s  %s", p, $0 } /^  EUR/ { printf " |%s", substr($0, 3) } END { print "" }'
		done
	done
	demo_section "the statement of one month (--dry-run --json, first 30 lines)"
	# sed reads to the end: head would close the pipe early and, with
	# pipefail, fail the demo on the writer's SIGPIPE/EPIPE
	"$CS_BIN" settle --config "$CONFIG" --period 2023-03 --dry-run --json |
		python3 -m json.tool | sed -n '1,30p'
	demo_section "re-running a month that is settled and unchanged: 'unchanged' (exit 0)"
	demo_run "$CS_BIN" settle --config "$CONFIG" --period 2023-03 --no-progress
	demo_section "an accountant corrects a row: the re-run says so (exit 4), then supersedes the month"
	psql -X -q -c "UPDATE marktplatz.sales SET amount_minor = amount_minor + 1000
		WHERE id = (SELECT min(id) FROM marktplatz.sales
		WHERE occurred_at >= '2023-03-01 00:00 Europe/Berlin' AND occurred_at < '2023-04-01 00:00 Europe/Berlin')"
	"$CS_BIN" settle --config "$CONFIG" --period 2023-03 --no-progress || echo "(exit $?)"
	demo_run "$CS_BIN" settle --config "$CONFIG" --period 2023-03 --supersede \
		--reason "refund of sale corrected by the accountant" --no-progress
	demo_run "$CS_BIN" settle --config "$CONFIG" --period 2023-03 --supersede \
		--reason "refund of sale corrected by the accountant" --no-progress
	DEMO_DONE+=("settled 36 months, superseded one corrected month")
}

# demo_vat: the VAT on the fees (19% on top of every fee, both sides) and
# the fee schedule that changes on 15 July 2025 (config/example.yaml): the
# net fees and VAT of each year's committed settle runs, whose sum is the
# balance of the VAT account; then how explain shows one sale of the demo
# member taxed under the old schedule and one under the new, both in the
# July 2025 run.
demo_vat()
{
	local run txn rule

	demo_section "VAT on the fees: the committed settle runs per year, and the VAT account"
	psql -X -A -t -F ' ' -c "SELECT extract(year FROM r.window_from AT TIME ZONE 'Europe/Berlin') || ':',
		'net fees', to_char(sum(c.fees_minor) / 100.0, 'FM999G999D00'), 'EUR, VAT',
		to_char(sum(c.vat_minor) / 100.0, 'FM999G999D00'), 'EUR'
		FROM coopsettle.currency_totals c JOIN coopsettle.runs r ON r.id = c.run_id
		WHERE r.kind = 'settle' AND r.status = 'committed' GROUP BY 1 ORDER BY 1"
	# every line of the account: a superseded run's lines and their reversal cancel
	psql -X -A -t -F ' ' -c "SELECT 'balance of liabilities:vat:19:',
		to_char(-sum(amount_minor) / 100.0, 'FM999G999D00'), 'EUR owed to the tax office'
		FROM coopsettle.ledger_lines WHERE account = 'liabilities:vat:19'"
	run=$(psql -X -A -t -c "SELECT id FROM coopsettle.runs WHERE kind = 'settle' AND status = 'committed'
		AND window_from = TIMESTAMPTZ '2025-07-01 00:00 Europe/Berlin'")
	demo_section "the fee schedule of 15 July 2025: member $DEMO_MEMBER's last sale before it and first after it (explain, run $run)"
	for rule in standard standard-2025-07; do
		# the maker's fee line (line 3) of its sales under the rule, by day
		txn=$(psql -X -A -t -c "SELECT transaction_id FROM coopsettle.ledger_lines
			WHERE run_id = $run AND rule_id = '$rule' AND party_id = $DEMO_MEMBER AND line_no = 3
			ORDER BY posted_on $([[ $rule == standard ]] && echo DESC), transaction_id LIMIT 1")
		printf '$ %s
' "$CS_BIN explain --run $run --member $DEMO_MEMBER  (transaction $txn: rules, tiers, rounding, VAT)"
		# awk reads to the end (no exit): an early exit would fail the demo on SIGPIPE
		"$CS_BIN" explain --run "$run" --member "$DEMO_MEMBER" |
			awk -v t="transaction $txn," 'index($0, t) == 1 { on = 1 } on && $0 == "" { on = 0 } on' |
			grep -E "^transaction |amount g|'standard|tier [0-9]|sum |rounded|VAT .* producer's fee"
	done
	DEMO_DONE+=("charged 19% VAT on every fee, shown per year and on liabilities:vat:19; explained a sale before and after the fee schedule of 15 July 2025")
}

# demo_distribute: the three years in turn (a distribute window must start
# where the last one ended), each kept as build/demo-distribute-YEAR.json;
# then what the board sees of them (scripts/demo/board.py) and how the
# engine explains the legal reserve's target and the blocked interest.
demo_distribute()
{
	local year run args=()

	for year in 2023 2024 2025; do
		demo_section "distribute $year"
		printf '$ %s > %s\n' "$CS_BIN distribute --config $CONFIG --period $year --json" \
			"$BUILD_DIR/demo-distribute-$year.json"
		"$CS_BIN" distribute --config "$CONFIG" --period "$year" --json >"$BUILD_DIR/demo-distribute-$year.json"
		run=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["run_id"])' \
			"$BUILD_DIR/demo-distribute-$year.json")
		printf 'distribute run %s committed\n' "$run"
		args+=("$year:$BUILD_DIR/demo-distribute-$year.json")
	done
	demo_section "what the board sees: three years (from distribute --json; member $DEMO_MEMBER)"
	python3 scripts/demo/board.py "$CONFIG" "$DEMO_MEMBER" "${args[@]}"
	demo_section "how the engine explains the legal reserve and the interest (explain, member $DEMO_MEMBER)"
	for year in 2023 2025; do
		run=$(demo_distribute_run "$year")
		printf '$ %s\n' "$CS_BIN explain --run $run --member $DEMO_MEMBER  (lines on target, room, loss, interest)"
		"$CS_BIN" explain --run "$run" --member "$DEMO_MEMBER" |
			grep -E 'loss carried in|carried loss is covered|until |the step takes the room|blocked_by_loss|withheld w =|cap: member_business'
	done
	demo_section "the ledger balances per currency"
	psql -X -c "SELECT currency, count(*) AS lines, sum(amount_minor) AS balance
		FROM coopsettle.ledger_lines GROUP BY currency ORDER BY currency"
	DEMO_DONE+=("distributed 2023 (profit), 2024 (loss) and 2025 (profit after the carried loss)")
}

# demo_distribute_run YEAR: the id of the committed distribute run of YEAR.
demo_distribute_run()
{
	psql -X -A -t -c "SELECT id FROM coopsettle.runs WHERE kind = 'distribute' AND status = 'committed'
		AND window_from = TIMESTAMPTZ '$1-01-01 00:00 Europe/Berlin'"
}

demo_audit()
{
	local year run out="$CS_ROOT/build/demo-statements"

	demo_section "an auditor checks the chain of runs and reproduces each distribution"
	demo_run "$CS_BIN" verify --chain
	for year in 2023 2024 2025; do
		run=$(demo_distribute_run "$year")
		printf '$ %s\n' "$CS_BIN verify --run $run"
		"$CS_BIN" verify --run "$run" | tail -n 1
	done
	demo_section "the members' statements (notices of allocation), one folder per year"
	rm -rf -- "$out"
	mkdir -p "$out" # statements --out creates its folder, not the folder's parents
	for year in 2023 2024 2025; do
		run=$(demo_distribute_run "$year")
		demo_run "$CS_BIN" statements --run "$run" --out "$out/$year"
	done
	for year in 2023 2025; do
		printf '\n%s, member %s (%s):\n\n' "$year" "$DEMO_MEMBER" "$out/$year/member-$DEMO_MEMBER.txt"
		cat "$out/$year/member-$DEMO_MEMBER.txt"
	done
	DEMO_DONE+=("verified the run chain and the three distribute runs, wrote the members' statements to $out")
}

# demo_exports: what the accountant and the board take away
# (build/demo-exports/): each year and all three years as hledger journals
# and a beancount file, checked by hledger check -s and bean-check when
# they are installed; the 2025 batch for the tax adviser as a DATEV EXTF
# file with the SKR03 numbers (config/accounts-skr03.yaml); the board's
# report of 2025 (docs/exports.md, docs/report.md).
demo_exports()
{
	local out="$CS_ROOT/build/demo-exports" year f

	demo_section "the accountant's exports: each year and all three (hledger, beancount)"
	rm -rf -- "$out"
	mkdir -p "$out"
	for year in 2023 2024 2025; do
		demo_run "$CS_BIN" export --period "$year" --format hledger --output "$out/coop-$year.journal"
	done
	demo_run "$CS_BIN" export --from 2023-01-01 --to 2026-01-01 --format hledger \
		--output "$out/coop-2023-2025.journal"
	demo_run "$CS_BIN" export --from 2023-01-01 --to 2026-01-01 --format beancount \
		--output "$out/coop-2023-2025.beancount"
	if command -v hledger >/dev/null; then
		for f in "$out"/*.journal; do
			demo_run hledger -f "$f" check -s
		done
		demo_run hledger -f "$out/coop-2025.journal" bal --depth 2 -N
	fi
	if command -v bean-check >/dev/null; then
		demo_run bean-check "$out/coop-2023-2025.beancount"
	fi
	demo_section "the 2025 batch for the tax adviser: DATEV EXTF with the SKR03 numbers (header, columns cut, 3 bookings)"
	demo_run "$CS_BIN" export --period 2025 --format datev --accounts config/accounts-skr03.yaml \
		--output "$out/EXTF_Buchungsstapel_2025.csv"
	# the file is Windows-1252 with CRLF; shown here in UTF-8, each line cut
	iconv -f CP1252 -t UTF-8 "$out/EXTF_Buchungsstapel_2025.csv" | tr -d '\r' |
		sed -n '1p;3,5p' | cut -c1-110
	demo_section "the board's report of 2025 (one HTML page, charts in SVG)"
	demo_run "$CS_BIN" report --period 2025 --out "$out/report-2025.html"
	DEMO_DONE+=("exported 2023-2025 for hledger, beancount and DATEV (SKR03), wrote the board's report of 2025 to $out")
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
	demo_vat
	demo_distribute
	demo_audit
	demo_exports
	demo_fingerprint
	demo_summary
}

main "$@"

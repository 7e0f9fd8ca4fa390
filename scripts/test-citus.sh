#!/usr/bin/env bash
# test-citus.sh -- coopsettle on a Citus cluster (docs/scale-out.md).
#
# usage: scripts/test-citus.sh [BUILD_DIR]
#
# Builds Citus once into BUILD_DIR/citus (default build/; the source from
# CS_CITUS_SRC, default ../shared/citus), starts a coordinator, two workers
# and a plain PostgreSQL on Unix sockets as the cluster user, enables
# schema-based sharding and checks, for four cooperative schemas run at the
# same time: init-db, settle day by day, distribute, --supersede --reason,
# verify, status and an export; that each schema sits whole on one worker;
# that every run's hashes equal the same run on plain PostgreSQL; that the
# runner role can neither change nor delete a posted line; and that a worker
# stopped during a settle leaves nothing committed on any node (exit 1) and
# the retry commits once; and that the schemas can be moved between workers
# (citus_schema_move, citus_rebalance_start) and go on working. Without the
# Citus source it says why and exits 0.
# Uses BUILD_DIR/coopsettle and BUILD_DIR-fp/coopsettle (the fail-point
# build), as scripts/test.sh builds them; builds them when missing.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib/common.sh
source scripts/lib/common.sh
# shellcheck source=scripts/lib/citus.sh
source scripts/lib/citus.sh
cd "$CS_ROOT"

build_dir=${1:-${CS_BUILD_DIR:-build}}
if ! why="$(cs_citus_available)"; then
	cs_log "skipping the Citus tests: $why"
	exit 0
fi
start=$SECONDS
[[ -x "$build_dir/coopsettle" ]] || cs_build "$build_dir"
[[ -x "${build_dir}-fp/coopsettle" ]] ||
	cs_build "${build_dir}-fp" -DCS_FAILPOINTS=ON -DBUILD_TESTING=OFF
bin="$(cd "$build_dir" && pwd -P)/coopsettle"
bin_fp="$(cd "${build_dir}-fp" && pwd -P)/coopsettle"
if ! cs_citus_build "$build_dir"; then
	cs_die "Citus could not be built or installed (see above)"
fi
cs_citus_start

work="$(mktemp -d /tmp/coopsettle-citus-test.XXXXXX)"
[[ -n "${CS_CITUS_KEEP:-}" ]] || cs_at_exit "rm -rf -- '$work'"
chmod 755 "$work"
passed=0
failed=0
pass() { passed=$((passed + 1)); }
fail()
{
	failed=$((failed + 1))
	printf 'FAIL: %s\n' "$*"
}
DAYS=(2026-11-01 2026-11-02 2026-11-03 2026-11-04 2026-11-05)
COORD=0
PLAIN=3

# config N: cooperative N's config (its own schema and fee rates).
config()
{
	local n=$1
	cat <<-YAML
		version: 1
		cooperative: "Coop $n eG"
		currency: EUR
		currencies: {EUR: 2}
		timezone: Europe/Berlin
		schema: coop$n
		on_invalid: quarantine
		fees:
		  - id: guests
		    when: {consumer_member: false}
		    rate: "$((5 + n))%"
		    borne_by: {producer: 1/2, consumer: 1/2}
		  - id: members
		    rate: 4%
		    fixed: "0.0$n"
		surplus:
		  steps:
		    - {id: legal-reserve, type: account, share: 10%, account: "equity:reserves:legal"}
		    - {id: capital-interest, type: capital_interest, rate: 3%, cap_share: 20%}
		    - id: patronage
		      type: patronage
		      share: remaining
		      classes: {producer: 60%, consumer: 40%}
		      cash_fraction: 50%
	YAML
}

# The runner role's grants, from docs/operations.md, for schema S.
grants()
{
	sed -n '/<!-- least-privilege sql: begin -->/,/<!-- least-privilege sql: end -->/p' \
		docs/operations.md | sed '1,2d;$d' | sed '$d' |
		grep -v '^CREATE ROLE\|^GRANT CONNECT' | sed "s/coopsettle\./$1./g; s/SCHEMA coopsettle /SCHEMA $1 /"
}

# load NODE N: cooperative N's inputs (members, five days of transactions,
# costs), through NODE (the coordinator routes them to the schema's worker).
load()
{
	local node=$1 n=$2
	cs_citus_psql "$node" <<-SQL
		INSERT INTO coop$n.members SELECT g, CASE WHEN g % 2 = 0 THEN 'producer' ELSE 'consumer' END,
		  DATE '2020-01-01', NULL, 1000 * g FROM generate_series(1, 300) g;
		INSERT INTO coop$n.transactions
		  SELECT g, TIMESTAMPTZ '2026-11-01 00:00:00+01' + (g % 5) * INTERVAL '1 day'
		           + (g % 86000) * INTERVAL '1 second',
		         2 * (g % 150) + 2, CASE WHEN g % 7 = 0 THEN NULL ELSE 2 * (g % 150) + 1 + 400 * (g % 3 / 2) END,
		         100 + (g * 7919 * $n) % 50000, 'EUR', 'c' || g % 4
		  FROM generate_series(1, 5000) g;
		INSERT INTO coop$n.operating_costs VALUES ('2026-11-03', 'EUR', 1000 * $n);
	SQL
}

# workload NODE N OUT: what a cooperative's nightly jobs (as the runner
# role) and its auditor (verify and export, as the owner) do, through NODE;
# the runs' hashes and an export land in OUT. Every exit code is checked.
workload()
{
	local node=$1 n=$2 out=$3 cfg d id runner ci
	cfg="$work/coop$n.yaml"
	ci="$(cs_citus_conninfo "$node")"
	runner="$(cs_citus_conninfo "$node" coopsettle_runner)"
	mkdir -p "$out"
	expect() # CODE WHAT COMMAND...
	{
		local want=$1 what=$2 rc=0
		shift 2
		"$@" >>"$out/log" 2>&1 || rc=$?
		if ((rc == want)); then
			echo "ok $what" >>"$out/checks"
		else
			echo "FAIL coop$n: $what: exit $rc, want $want" >>"$out/checks"
		fi
	}
	expect 0 "init-db" "$bin" --db "$ci" init-db --config "$cfg"
	load "$node" "$n" >>"$out/log" 2>&1
	grants "coop$n" | cs_citus_psql "$node" >>"$out/log" 2>&1
	for d in "${DAYS[@]}"; do
		expect 0 "settle $d" "$bin" --db "$runner" settle --config "$cfg" --period "$d"
	done
	expect 0 "distribute" "$bin" --db "$runner" distribute --config "$cfg" \
		--from 2026-11-01 --to 2026-11-06
	cs_citus_psql "$node" -c "UPDATE coop$n.transactions SET amount_minor = amount_minor + 1 WHERE id = 12" \
		>>"$out/log" 2>&1
	expect 0 "settle --supersede" "$bin" --db "$runner" settle --config "$cfg" \
		--period 2026-11-03 --supersede --reason "amount of sale 12 corrected"
	expect 0 "distribute --supersede" "$bin" --db "$runner" distribute --config "$cfg" \
		--from 2026-11-01 --to 2026-11-06 --supersede --reason "settle run of 3 Nov superseded"
	# the committed runs verify; a superseded one reports its changed input (exit 5)
	for id in $(cs_citus_psql "$node" -c "SELECT id FROM coop$n.runs WHERE status = 'committed' ORDER BY id"); do
		expect 0 "verify --run $id" "$bin" --db "$ci" --schema "coop$n" verify --run "$id"
	done
	expect 0 "verify --chain" "$bin" --db "$ci" --schema "coop$n" verify --chain
	expect 0 "status" "$bin" --db "$runner" status --config "$cfg" --from 2026-11-01 \
		--to 2026-11-06
	expect 0 "export" "$bin" --db "$ci" --schema "coop$n" export --run 1 --format csv \
		--output "$out/export-1.csv"
	cs_citus_psql "$node" -c "SELECT id, kind, window_from_text, window_to_text, status,
		supersedes, input_sha256, output_sha256, line_count FROM coop$n.runs ORDER BY id" \
		>"$out/runs"
}

# ---------------------------------------------------------------- set-up
for n in 1 2 3 4; do
	config "$n" >"$work/coop$n.yaml"
done
for node in $COORD $PLAIN; do
	cs_citus_psql "$node" -c "CREATE ROLE coopsettle_runner LOGIN" >/dev/null
	cs_citus_psql "$node" -c "GRANT CONNECT ON DATABASE coops TO coopsettle_runner" >/dev/null
done

# ------------------------------------------ four cooperatives at the same time
cs_log "four cooperatives on Citus and on plain PostgreSQL, all at the same time"
pids=()
for n in 1 2 3 4; do
	workload $COORD "$n" "$work/citus/coop$n" &
	pids+=($!)
	workload $PLAIN "$n" "$work/plain/coop$n" &
	pids+=($!)
done
for pid in "${pids[@]}"; do
	wait "$pid" || fail "a workload script failed (pid $pid)"
done
for n in 1 2 3 4; do
	for side in citus plain; do
		while read -r line; do
			case "$line" in
			ok*) pass ;;
			*) fail "$side: $line" ;;
			esac
		done <"$work/$side/coop$n/checks"
		if grep -q '^FAIL' "$work/$side/coop$n/checks"; then
			tail -n 40 "$work/$side/coop$n/log" | sed 's/^/    /'
		fi
	done
	if [[ -s "$work/citus/coop$n/runs" ]] &&
		cmp -s "$work/citus/coop$n/runs" "$work/plain/coop$n/runs"; then
		pass
	else
		fail "coop$n: the runs' hashes on Citus differ from plain PostgreSQL's"
		diff "$work/plain/coop$n/runs" "$work/citus/coop$n/runs" | head -20 | sed 's/^/    /' || true
	fi
	if [[ "$(wc -l <"$work/citus/coop$n/runs")" -eq 8 ]]; then
		pass
	else
		fail "coop$n: want 8 runs (5 settles, a distribute, each superseded once), got $(wc -l <"$work/citus/coop$n/runs")"
	fi
	# the export's last column is the run's record hash, which covers the
	# time the run was made: the rest must be the same
	if [[ -s "$work/citus/coop$n/export-1.csv" ]] &&
		cmp -s <(cut -d, -f1-13 "$work/citus/coop$n/export-1.csv") \
			<(cut -d, -f1-13 "$work/plain/coop$n/export-1.csv"); then
		pass
	else
		fail "coop$n: the export of run 1 differs between Citus and plain PostgreSQL"
	fi
done

# ------------------------------------------- each schema whole on one worker
placement="$(cs_citus_psql $COORD -c "
	SELECT s.schema_name, count(DISTINCT sh.nodeport), min(sh.nodeport),
	       count(DISTINCT sh.table_name),
	       (SELECT count(*) FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
	         WHERE ns.nspname = s.schema_name::text AND c.relkind IN ('r', 'p'))
	FROM citus_schemas s JOIN citus_shards sh ON sh.colocation_id = s.colocation_id
	GROUP BY 1 ORDER BY 1")"
declare -A worker_of
while IFS='|' read -r schema nodes port tables all; do
	worker_of[$schema]=$port
	if [[ "$nodes" == 1 && "$tables" == "$all" && "$port" != "${CS_CITUS_PORTS[0]}" ]]; then
		pass
	else
		fail "$schema: $tables of its $all tables on $nodes node(s), port $port"
	fi
done <<<"$placement"
if ((${#worker_of[@]} == 4)); then
	pass
else
	fail "want 4 distributed schemas, got: $placement"
fi
cs_log "placement: $(for s in "${!worker_of[@]}"; do printf '%s on :%s ' "$s" "${worker_of[$s]}"; done)"

# --------------------------- the runner can neither change nor delete a line
runner_refused() # WHAT SQL
{
	local out
	if out="$("$CS_PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 \
		"$(cs_citus_conninfo $COORD coopsettle_runner)" -c "$2" 2>&1)"; then
		fail "the runner could $1 on Citus: $out"
	elif [[ "$out" == *"permission denied"* || "$out" == *"violates row-level security"* ]]; then
		pass
	else
		fail "the runner was refused to $1 on Citus, but not for want of rights: $out"
	fi
}
runner_refused "change a posted line" "UPDATE coop1.ledger_lines SET amount_minor = 0 WHERE run_id = 1"
runner_refused "delete a posted line" "DELETE FROM coop1.ledger_lines WHERE run_id = 1"
runner_refused "truncate the ledger" "TRUNCATE coop1.ledger_lines"
runner_refused "delete a run" "DELETE FROM coop1.runs"
runner_refused "change another column of a run" "UPDATE coop1.runs SET reason = 'x'"
runner_refused "insert a superseded run" "INSERT INTO coop1.runs SELECT * FROM coop1.runs WHERE status = 'superseded' LIMIT 1"
runner_refused "update a committed run to anything but superseded" "UPDATE coop1.runs SET status = 'committed' WHERE status = 'committed'"
# the policies hide a superseded run from the runner's UPDATE: nothing changes
out="$("$CS_PG_BIN/psql" -X -At -v ON_ERROR_STOP=1 "$(cs_citus_conninfo $COORD coopsettle_runner)" \
	-c "UPDATE coop1.runs SET status = 'committed' WHERE status = 'superseded'" 2>&1 || true)"
if [[ "$out" == "UPDATE 0" ]]; then
	pass
else
	fail "the runner's UPDATE of a superseded run on Citus: $out"
fi

# ------------------------------- a worker stopped during a settle: nothing, then once
cs_log "stopping coop1's worker during a settle"
port=${worker_of[coop1]:-}
wi=1
[[ "$port" == "${CS_CITUS_PORTS[2]}" ]] && wi=2
cs_citus_psql $COORD -c "INSERT INTO coop1.transactions SELECT 100000 + g,
	TIMESTAMPTZ '2026-11-06 10:00:00+01' + g * INTERVAL '1 second', 2, 3, 1000 + g, 'EUR', 'c1'
	FROM generate_series(1, 2000) g"
before="$(cs_citus_psql $COORD -c "SELECT count(*), max(id) FROM coop1.runs")"
lines_before="$(cs_citus_psql $COORD -c "SELECT count(*) FROM coop1.ledger_lines")"
runner="$(cs_citus_conninfo $COORD coopsettle_runner)"
CS_FAILPOINT_SLEEP=before_commit:120000 "$bin_fp" --db "$runner" settle \
	--config "$work/coop1.yaml" --period 2026-11-06 >"$work/kill.out" 2>"$work/kill.err" &
engine=$!
for ((k = 0; k < 600; k++)); do
	grep -q "failpoint 'before_commit' paused" "$work/kill.err" && break
	kill -0 "$engine" 2>/dev/null || break
	sleep 0.1
done
if grep -q "paused" "$work/kill.err"; then
	pass
else
	fail "the settle never reached before_commit: $(cat "$work/kill.err")"
fi
cs_citus_stop_node "$wi" immediate
kill -USR1 "$engine" 2>/dev/null || true
rc=0
wait "$engine" || rc=$?
if ((rc == 1)); then
	pass
else
	fail "settle with its worker stopped: exit $rc, want 1: $(cat "$work/kill.err")"
fi
cs_citus_restart_node "$wi"
after="$(cs_citus_psql $COORD -c "SELECT count(*), max(id) FROM coop1.runs")"
lines_after="$(cs_citus_psql $COORD -c "SELECT count(*) FROM coop1.ledger_lines")"
if [[ "$before" == "$after" && "$lines_before" == "$lines_after" ]]; then
	pass
else
	fail "the failed settle left something: runs $before -> $after, lines $lines_before -> $lines_after"
fi
# on every node: no prepared (in-doubt) transaction, and on the worker the
# shards themselves hold no run of that window
for i in 0 1 2; do
	n_prep="$(cs_citus_psql "$i" -c "SELECT count(*) FROM pg_prepared_xacts")"
	if [[ "$n_prep" == 0 ]]; then pass; else fail "node $i holds $n_prep prepared transactions"; fi
done
shard="$(cs_citus_psql $COORD -c "SELECT shard_name FROM citus_shards WHERE table_name = 'coop1.runs'::regclass")"
on_worker="$(cs_citus_psql "$wi" -c "SELECT count(*) FROM $shard WHERE window_from_text LIKE '2026-11-06%'")"
if [[ "$on_worker" == 0 ]]; then pass; else fail "the worker's shard $shard holds the failed run"; fi
rc=0
"$bin" --db "$runner" settle --config "$work/coop1.yaml" --period 2026-11-06 >"$work/retry.out" 2>&1 || rc=$?
n_runs="$(cs_citus_psql $COORD -c "SELECT count(*) FROM coop1.runs WHERE window_from_text LIKE '2026-11-06%' AND status = 'committed'")"
if ((rc == 0)) && [[ "$n_runs" == 1 ]] && grep -q committed "$work/retry.out"; then
	pass
else
	fail "the retry: exit $rc, $n_runs committed runs of the window: $(cat "$work/retry.out")"
fi
rc=0
"$bin" --db "$(cs_citus_conninfo $COORD)" --schema coop1 verify --chain >/dev/null 2>&1 || rc=$?
if ((rc == 0)); then pass; else fail "verify --chain after the retry: exit $rc"; fi

# ---------------- moving cooperatives: citus_schema_move, citus_rebalance_start
# (docs/scale-out.md): all four onto one worker, then rebalanced; each schema
# stays whole, its chain verifies and its next run commits where it landed.
cs_log "moving the cooperatives onto one worker, then rebalancing"
for n in 1 2 3 4; do
	p="$(cs_citus_psql $COORD -c "SELECT min(nodeport) FROM citus_shards
		WHERE table_name = 'coop$n.runs'::regclass")"
	if [[ "$p" != "${CS_CITUS_PORTS[1]}" ]]; then
		cs_citus_psql $COORD -c "SELECT citus_schema_move('coop$n', '$CS_CITUS_SOCK',
			${CS_CITUS_PORTS[1]}, 'block_writes')" >/dev/null || fail "citus_schema_move coop$n"
	fi
done
cs_citus_psql $COORD -c "SELECT citus_rebalance_start(shard_transfer_mode => 'block_writes')" \
	-c "SELECT citus_rebalance_wait()" >/dev/null 2>&1 || fail "citus_rebalance_start"
spread="$(cs_citus_psql $COORD -c "SELECT count(DISTINCT nodeport) FROM citus_shards
	WHERE citus_table_type = 'schema'")"
whole="$(cs_citus_psql $COORD -c "SELECT count(*) FROM (SELECT s.schema_name FROM citus_schemas s
	JOIN citus_shards sh USING (colocation_id) GROUP BY 1 HAVING count(DISTINCT sh.nodeport) = 1) x")"
if [[ "$spread" == 2 && "$whole" == 4 ]]; then
	pass
else
	fail "after the rebalance: schemas on $spread workers, $whole of 4 whole on one"
fi
for n in 1 2 3 4; do
	rc=0
	"$bin" --db "$runner" settle --config "$work/coop$n.yaml" --period 2026-11-07 \
		>"$work/moved.out" 2>&1 || rc=$?
	"$bin" --db "$(cs_citus_conninfo $COORD)" --schema "coop$n" verify --chain \
		>>"$work/moved.out" 2>&1 || rc=$?
	if ((rc == 0)); then pass; else fail "coop$n after the move: $(tail -n 5 "$work/moved.out")"; fi
done

echo "$passed passed, $failed failed ($((SECONDS - start)) s)"
((failed == 0))

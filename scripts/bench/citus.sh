# shellcheck shell=bash
# citus.sh -- scripts/bench.sh --citus (docs/scale-out.md): what the Citus
# coordinator costs a settle. Sourced by scripts/bench.sh after its helpers
# (median, secs, ratio, group, verdict, write_doc) and options (ROWS,
# MEMBERS, REPS, DO_DOC, CFG, GENERATE, PERIOD, BUILD_DIR, OUT, CS).
#
# Builds Citus once into BUILD_DIR/citus (scripts/lib/citus.sh), starts a
# coordinator, two workers and a plain PostgreSQL beside them, all with
# initdb's settings (fsync on) and the same shared_buffers, generates the
# same --rows transactions and --members members into the default schema
# coopsettle on the plain server and through the coordinator (schema-based
# sharding puts the whole schema on one worker), and times, each rep with the
# output tables emptied and a CHECKPOINT first, alternating: coopsettle settle
# --period 2026-11 on plain PostgreSQL, and the same through the coordinator.
# Checks that both give the same output hash. Reports the medians, their
# ratio against the target (<= 1.5) and, from the servers' logs
# (log_min_duration_statement = 0), the time by phase on the plain server,
# on the coordinator and on the worker that holds the schema. Writes the
# report into docs/scale-out.md between the markers bench:citus:rows=N.

# shellcheck source=scripts/lib/citus.sh
source scripts/lib/citus.sh
if ! why="$(cs_citus_available)"; then
	cs_die "--citus needs the Citus source: $why (set CS_CITUS_SRC)"
fi
# shellcheck disable=SC2034 # write_doc (scripts/bench.sh) writes DOC
DOC=docs/scale-out.md
MARK="bench:citus:rows=$ROWS"
COORD=0
PLAIN=3
OUTPUTS="coopsettle.runs, coopsettle.ledger_lines, coopsettle.party_totals,
	coopsettle.currency_totals, coopsettle.settlement_rejects, coopsettle.distribution_steps,
	coopsettle.member_allocations, coopsettle.run_input_chunks, coopsettle.run_memberships,
	coopsettle.run_capital, coopsettle.run_costs"

cs_install_deps
cs_install_deps "$CS_CITUS_DEPS"
cs_lock "$BUILD_DIR"
cs_build "$BUILD_DIR" >&2
mkdir -p "$OUT"
rm -f "$OUT"/citus_*
cs_citus_build "$BUILD_DIR" || cs_die "Citus could not be built or installed (see above)"
CS_CITUS_DURABLE=1 cs_citus_start
LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"

for node in $PLAIN $COORD; do
	cs_log "generating $(group "$ROWS") transactions and $(group "$MEMBERS") members on node $node"
	"$CS" --db "$(cs_citus_conninfo "$node")" init-db >/dev/null
	cs_citus_psql "$node" -v rows="$ROWS" -v members="$MEMBERS" -v cover=0 \
		-f "$GENERATE" >/dev/null
	cs_citus_psql "$node" -c "VACUUM ANALYZE coopsettle.transactions" \
		-c "VACUUM ANALYZE coopsettle.members" </dev/null
done
WORKER="$(cs_citus_psql $COORD -c "SELECT DISTINCT nodeport FROM citus_shards
	WHERE table_name = 'coopsettle.ledger_lines'::regclass" </dev/null)"
WI=1
[[ "$WORKER" == "${CS_CITUS_PORTS[2]}" ]] && WI=2
cs_log "the schema sits on the worker at port $WORKER"
for node in $PLAIN $COORD $WI; do
	cs_citus_psql "$node" -c "ALTER SYSTEM SET log_min_duration_statement = 0" \
		-c "SELECT pg_reload_conf()" </dev/null >/dev/null
done
LOGS=([0]="coordinator" [1]="worker1" [2]="worker2" [3]="plain")

# cpu_ticks PID: CPU ticks of a postmaster and its reaped children (the
# backends of a finished run, the coordinator's connections to the worker).
cpu_ticks() { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)

# citus_timed NODE TAG K: one committed settle of the window on NODE.
citus_timed()
{
	local node=$1 tag=$2 k=$3 t0 t1 i
	local -A c_l0

	if ((node == PLAIN)); then
		# the append-only triggers (TRUNCATE ones too) do not fire in replica mode
		cs_citus_psql "$node" -c "SET session_replication_role = replica" \
			-c "TRUNCATE $OUTPUTS" </dev/null
	else
		cs_citus_psql "$node" -c "TRUNCATE $OUTPUTS" </dev/null
	fi
	cs_citus_psql "$node" -c CHECKPOINT </dev/null
	((node == PLAIN)) || cs_citus_psql $WI -c CHECKPOINT </dev/null
	for i in $node $WI; do
		c_l0[$i]=$(wc -l <"$CS__CITUS_DIR/log/${LOGS[$i]}.log")
	done
	local c0 w0
	c0=$(cpu_ticks "${CS__CITUS_PIDS[$node]}")
	w0=$(cpu_ticks "${CS__CITUS_PIDS[$WI]}")
	t0=$(now_ns)
	/usr/bin/time -f '%M %U %S' -o "$OUT/citus_time_${tag}_$k" \
		"$CS" --db "$(cs_citus_conninfo "$node")" settle --config "$CFG" --period "$PERIOD" \
		--no-progress >"$OUT/citus_settle_${tag}_$k.txt" 2>&1 ||
		cs_die "settle on node $node failed: $(tail -n 5 "$OUT/citus_settle_${tag}_$k.txt")"
	t1=$(now_ns)
	eval "CT_$tag+=($((t1 - t0)))"
	# CPU (ns) of the engine, of the server it talks to and of the worker;
	# the backends have exited once the engine has (give them a moment)
	sleep 1
	eval "CPU_engine_$tag+=($(awk '{ printf "%.0f", ($2 + $3) * 1e9 }' "$OUT/citus_time_${tag}_$k"))"
	eval "CPU_server_$tag+=($((($(cpu_ticks "${CS__CITUS_PIDS[$node]}") - c0) * 1000000000 / HZ)))"
	if ((node == COORD)); then
		eval "CPU_worker_$tag+=($((($(cpu_ticks "${CS__CITUS_PIDS[$WI]}") - w0) * 1000000000 / HZ)))"
	fi
	tail -n "+$((c_l0[$node] + 1))" "$CS__CITUS_DIR/log/${LOGS[$node]}.log" |
		awk -f scripts/bench/phases.awk >"$OUT/citus_phases_${tag}_$k"
	if ((node == COORD)); then
		tail -n "+$((c_l0[$WI] + 1))" "$CS__CITUS_DIR/log/${LOGS[$WI]}.log" |
			awk -f scripts/bench/phases.awk >"$OUT/citus_phases_worker_$k"
	fi
}

CT_plain=()
CT_citus=()
CPU_engine_plain=() CPU_engine_citus=() CPU_server_plain=() CPU_server_citus=() CPU_worker_citus=()
for ((k = 1; k <= REPS; k++)); do
	cs_log "rep $k of $REPS: plain PostgreSQL, then through the coordinator"
	citus_timed $PLAIN plain "$k"
	citus_timed $COORD citus "$k"
done
LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)"
hash_plain="$(sed -n 's/^  output *//p' "$OUT/citus_settle_plain_1.txt")"
hash_citus="$(sed -n 's/^  output *//p' "$OUT/citus_settle_citus_1.txt")"
[[ -n "$hash_plain" && "$hash_plain" == "$hash_citus" ]] ||
	cs_die "the output hashes differ: plain $hash_plain, Citus $hash_citus"

# citus_phase TAG PHASE: median over the reps of one phase (ns), 0 if none.
citus_phase()
{
	local k v=()
	for ((k = 1; k <= REPS; k++)); do
		v+=("$(awk -v p="$2" '$1 == p { ms = $2 } END { printf "%.0f", ms * 1e6 }' \
			"$OUT/citus_phases_$1_$k")")
	done
	median "${v[@]}"
}

# what a settled transaction stores: the output tables after the last rep
BYTES="$(cs_citus_psql $PLAIN -c "SELECT sum(pg_catalog.pg_total_relation_size(c.oid))
	FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
	WHERE n.nspname = 'coopsettle' AND c.relkind IN ('r', 't', 'm')
	AND c.relname NOT IN ('transactions', 'members', 'operating_costs', 'capital_movements')" </dev/null)"

m_plain=$(median "${CT_plain[@]}")
m_citus=$(median "${CT_citus[@]}")
r=$(ratio "$m_citus" "$m_plain")
report="$OUT/citus_report.md"
{
	printf '### settle of %s transactions, %s members: plain PostgreSQL and Citus\n\n' \
		"$(group "$ROWS")" "$(group "$MEMBERS")"
	printf 'Measured by `scripts/bench.sh --citus --rows %s --members %s --reps %s` at %s.\n' \
		"$ROWS" "$MEMBERS" "$REPS" "$(git rev-parse --short HEAD 2>/dev/null || echo '?')"
	printf 'Citus 13.2.2, one coordinator and two workers on this machine (Unix sockets);\n'
	printf 'the plain server runs beside them with the same settings (initdb'"'"'s, fsync on,\n'
	printf 'plus wal_level = logical on all four).\n'
	printf 'Machine: %s CPUs, %s; load average at the start %s, at the end %s (shared).\n\n' \
		"$(nproc)" "$(awk '/^MemTotal/ { printf "%.1f GiB RAM", $2 / 1048576 }' /proc/meminfo)" \
		"$LOAD_START" "$LOAD_END"
	printf '| measurement | median s | all runs s |\n|---|---|---|\n'
	row "plain PostgreSQL: \`coopsettle settle --period 2026-11\`, committed" "$m_plain" "${CT_plain[@]}"
	row "Citus: the same through the coordinator, committed" "$m_citus" "${CT_citus[@]}"
	printf '\n**Citus / plain: %s** (target <= 1.5: %s). Both runs give output hash `%s`.\n\n' \
		"$r" "$(verdict "$r" "<=" 1.5)" "${hash_plain:0:16}..."
	printf 'The settled run stores %s MB in the output tables (ledger lines, totals, input\n' \
		"$(awk -v b="$BYTES" 'BEGIN { printf "%.0f", b / 1e6 }')"
	printf 'snapshot, with their indexes): %s bytes per transaction.\n\n' \
		"$(awk -v b="$BYTES" -v r="$ROWS" 'BEGIN { printf "%.0f", b / r }')"
	printf 'CPU time per run (medians, s): what the run cost each process, the\n'
	printf 'servers'"'"' backends included (from /proc, reaped children of each postmaster):\n\n'
	printf '| CPU | plain | Citus |\n|---|---|---|\n'
	printf '| the engine | %s | %s |\n' "$(secs "$(median "${CPU_engine_plain[@]}")")" \
		"$(secs "$(median "${CPU_engine_citus[@]}")")"
	printf '| the server it talks to (plain, or the coordinator) | %s | %s |\n' \
		"$(secs "$(median "${CPU_server_plain[@]}")")" "$(secs "$(median "${CPU_server_citus[@]}")")"
	printf '| the worker holding the schema | - | %s |\n' "$(secs "$(median "${CPU_worker_citus[@]}")")"
	printf '| **total** | %s | %s |\n\n' \
		"$(secs "$(($(median "${CPU_engine_plain[@]}") + $(median "${CPU_server_plain[@]}")))")" \
		"$(secs "$(($(median "${CPU_engine_citus[@]}") + $(median "${CPU_server_citus[@]}") + $(median "${CPU_worker_citus[@]}")))")"
	printf 'Server time by phase (medians, s; from each server'"'"'s log):\n\n'
	printf '| phase | plain server | coordinator | worker holding the schema |\n|---|---|---|---|\n'
	for p in read_members read_transactions copy_ledger_lines copy_party_totals copy_run_inputs \
		insert_run_record commit other; do
		printf '| %s | %s | %s | %s |\n' "$p" "$(secs "$(citus_phase plain "$p")")" \
			"$(secs "$(citus_phase citus "$p")")" "$(secs "$(citus_phase worker "$p")")"
	done
} >"$report"
cat "$report"
if ((DO_DOC)); then
	write_doc "$MARK" "$report"
fi

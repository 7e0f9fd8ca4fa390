# phases.awk -- server-side time of one coopsettle run, by phase, from the
# PostgreSQL log lines written while it ran (log_min_duration_statement = 0
# on the run's database; see scripts/bench.sh).
#
# Prints "PHASE MILLISECONDS" per phase. The COPY that reads transactions and
# the COPY that writes ledger lines run at the same time (two connections),
# so their durations overlap; everything else is sequential.
/ duration: [0-9.]+ ms / {
	ms = $0
	sub(/^.* duration: /, "", ms)
	sub(/ ms.*$/, "", ms)
	sql = $0
	sub(/^.* ms  (statement|parse [^:]*|bind [^:]*|execute [^:]*): /, "", sql)
	if (sql ~ /^COPY \(SELECT id::bigint, class::text/) p = "read_members"
	else if (sql ~ /^COPY \(SELECT id::bigint, occurred_at/) p = "read_transactions"
	else if (sql ~ /^COPY "?[a-z0-9_]+"?\.ledger_lines/) p = "copy_ledger_lines"
	else if (sql ~ /^COPY "?[a-z0-9_]+"?\.party_totals/) p = "copy_party_totals"
	else if (sql ~ /^COPY "?[a-z0-9_]+"?\.member_allocations/) p = "copy_member_allocations"
	else if (sql ~ /^COPY "?[a-z0-9_]+"?\.run_input_chunks/) p = "copy_run_inputs"
	else if (sql ~ /^COPY "?[a-z0-9_]+"?\.run_memberships/) p = "copy_run_memberships"
	else if (sql ~ /^COPY "?[a-z0-9_]+"?\.run_capital/) p = "copy_run_capital"
	else if (sql ~ /^COPY "?[a-z0-9_]+"?\./) p = "copy_other"
	else if (sql ~ /^COPY \(SELECT party_id, side, currency/) p = "read_patronage_bases"
	else if (sql ~ /^COPY \(SELECT member_id::bigint, booked_on/) p = "read_capital"
	else if (sql ~ /^COPY \(SELECT run_id, member_id, retained_minor/) p = "read_retained"
	else if (sql ~ /^SELECT account, currency, sum\(amount_minor\)/) p = "read_balances"
	else if (sql ~ /^INSERT INTO "?[a-z0-9_]+"?\.runs/) p = "insert_run_record"
	else if (sql ~ /^COMMIT/) p = "commit"
	else p = "other"
	t[p] += ms
}
END {
	for (p in t)
		printf "%s %d\n", p, t[p]
}

# shellcheck shell=bash
# law.sh -- scripts/bench.sh --law: distribute under the cooperative law
# (config version 2, spec 10.2-10.3) against its floor.
#
# Sourced by scripts/bench.sh after its set-up (build, cluster, helpers),
# never run alone: it uses bench.sh's variables (CS, FLOOR, OUT, REPS,
# DIST_MEMBERS, DO_DIAG, DO_DOC, DOC) and helpers (psqlq, fresh_db, drop_db,
# checkpoint, log_db, log_lines, phases_since, phase_median, median, secs,
# group, ratio, verdict, row, machine_lines, write_doc).
#
# The cooperative (scripts/bench/bench_law.yaml, generate_law.sql,
# costs_law.sql): DIST_MEMBERS members with dated memberships, their capital
# movements, DIST_MEMBERS transactions a year in 2023, 2024 and 2025. Each
# year is settled, the operating costs follow the fee income, and 2023 and
# 2024 are distributed (not timed): the timed run, 2025, reads balances fed
# by both and the retained patronage of both as capital. Then, each rep in a
# fresh copy of that database:
#   coopsettle distribute --period 2025, committed
#   its floor: the minimal client reading what the run must read -- the
#     memberships, the 2025 settle run's party totals, the capital movements
#     up to the window's end, the earlier runs' retained patronage, the
#     balances query -- with binary COPY and without ORDER BY, and COPYing
#     the run's ledger lines and member allocations (as text, as psql
#     exports them) into empty copies of the tables with the same indexes
#   diagnostics (unless --no-diagnostics): the same reads in the engine's
#     order (its own statements), and the run's membership and capital
#     snapshots (spec 10.4) COPYed into empty copies of their tables

LAW_CFG=scripts/bench/bench_law.yaml
LAW_DB=lawdata
LAW_RUN=6 # settle runs 1-3 (2023-2025), distribute runs 4 and 5 (2023, 2024)
LAW_LAST_DAY=2025-12-31
LAW_MARK="bench:law:members=$DIST_MEMBERS"
# The accounts whose balances the run reads (cfg->balance_accounts): the
# loss account, the loss_cover account, the reserve with a target.
LAW_ACCOUNTS='{"equity:loss-carried-forward","equity:reserves:other","equity:reserves:legal"}'

# The statements the floor reads with. The engine's own (the diagnostic)
# are the same rows with its ORDER BY (src/store/source.c, capital.c,
# balances.c, distribute_run.c); the balances query and the retained
# patronage have none.
LAW_READ_MEMBERS="SELECT id::bigint, class::text, joined_on::date, left_on::date, NULL::bigint
	FROM coopsettle.members"
LAW_READ_TOTALS="SELECT party_id, side, currency, fees_minor, gross_minor, member
	FROM coopsettle.party_totals WHERE run_id = ANY('{3}'::bigint[])"
LAW_READ_CAPITAL="SELECT member_id::bigint, booked_on::date, amount_minor::bigint, NULL::text
	FROM coopsettle.capital_movements
	WHERE booked_on::date <= DATE '$LAW_LAST_DAY' OR booked_on IS NULL"
LAW_READ_RETAINED="SELECT run_id, member_id, retained_minor FROM coopsettle.member_allocations
	WHERE run_id IN (4,5) AND currency = 'EUR' AND retained_minor <> 0"
LAW_READ_BALANCES="SELECT account, currency, sum(amount_minor)::text FROM coopsettle.ledger_lines
	WHERE run_id = ANY ('{4,5}'::bigint[]) AND entry = 'post'
	AND account = ANY ('$LAW_ACCOUNTS'::text[]) GROUP BY account, currency"

# law_reads DB ORDERED: the floor's reads in DB, as binary COPY through the
# minimal client; ORDERED 1 adds the engine's ORDER BY.
law_reads()
{
	local db=$1 ordered=$2 o_members="" o_totals="" o_capital=""

	if ((ordered)); then
		o_members=' ORDER BY id, class::text COLLATE "C", joined_on'
		o_capital=' ORDER BY 1, 2, 3'
	fi
	for sql in "$LAW_READ_MEMBERS$o_members" "$LAW_READ_TOTALS$o_totals" \
		"$LAW_READ_CAPITAL$o_capital" "$LAW_READ_RETAINED" "$LAW_READ_BALANCES"; do
		PGDATABASE="$db" "$FLOOR" out "COPY ($sql) TO STDOUT (FORMAT binary)" >/dev/null
	done
}

# ---------------------------------------------------------------- data

M=$DIST_MEMBERS
cs_log "generating $M members (dated memberships), their capital movements and $M transactions a year in 2023-2025 (database $LAW_DB)"
psqlq postgres -c "CREATE DATABASE $LAW_DB"
"$CS" --db "dbname=$LAW_DB" init-db >/dev/null
psqlq "$LAW_DB" -v members="$M" -v rows="$M" -f scripts/bench/generate_law.sql >/dev/null
for y in 2023 2024 2025; do
	cs_log "settling $y (not timed)"
	"$CS" --db "dbname=$LAW_DB" settle --config "$LAW_CFG" --period "$y" --no-progress >/dev/null
done
psqlq "$LAW_DB" -f scripts/bench/costs_law.sql >/dev/null
for y in 2023 2024; do
	cs_log "distributing $y (not timed)"
	"$CS" --db "dbname=$LAW_DB" distribute --config "$LAW_CFG" --period "$y" \
		>"$OUT/law-distribute-$y.txt"
done
# as autovacuum would have left the tables by the next year's run, but at
# a known moment: statistics for the plans, hint bits and visibility set
psqlq "$LAW_DB" -c "VACUUM (FREEZE, ANALYZE)"
checkpoint

cs_log "describing the data"
read -r L_ROWS L_IDS L_BOTH L_TWO L_CHANGING L_CAP L_CAP_READ L_RETAINED L_TOTALS \
	L_FEED_LINES <<<"$(psqlq "$LAW_DB" -A -t -F ' ' -c "SELECT
	(SELECT count(*) FROM coopsettle.members),
	(SELECT count(DISTINCT id) FROM coopsettle.members),
	(SELECT count(*) FROM (SELECT id FROM coopsettle.members GROUP BY id
		HAVING count(DISTINCT class) = 2) x),
	(SELECT count(*) FROM (SELECT id, class FROM coopsettle.members GROUP BY id, class
		HAVING count(*) = 2) x),
	(SELECT count(*) FROM coopsettle.members WHERE joined_on BETWEEN '2025-01-02' AND '$LAW_LAST_DAY'
		OR left_on BETWEEN '2025-01-02' AND '$LAW_LAST_DAY'),
	(SELECT count(*) FROM coopsettle.capital_movements),
	(SELECT count(*) FROM coopsettle.capital_movements WHERE booked_on <= '$LAW_LAST_DAY'
		AND member_id IN (SELECT id FROM coopsettle.members)),
	(SELECT count(*) FROM coopsettle.member_allocations WHERE run_id IN (4, 5)
		AND currency = 'EUR' AND retained_minor <> 0),
	(SELECT count(*) FROM coopsettle.party_totals WHERE run_id = 3),
	(SELECT count(*) FROM coopsettle.ledger_lines WHERE run_id IN (4, 5))")"
L_CAP_MOVED="$(psqlq "$LAW_DB" -A -t -c "SELECT round(count(*)::numeric / count(DISTINCT member_id), 2)
	FROM coopsettle.capital_movements WHERE member_id < 3000000000")"

# ---------------------------------------------------------------- timed

T_law=() RSS_law=() CPU_law=() GAP_law=()
T_lread=() T_llines=() T_lallocs=() T_lfloor=() T_lordered=() T_lsnap=()
for ((k = 1; k <= REPS; k++)); do
	cs_log "rep $k/$REPS: coopsettle distribute --period 2025"
	fresh_db "l_$k" "$LAW_DB"
	log_db "l_$k"
	checkpoint
	l0=$(log_lines)
	t0=$(now_ns)
	/usr/bin/time -f '%M %U %S' -o "$OUT/time_law_$k" \
		"$CS" --db "dbname=l_$k" distribute --config "$LAW_CFG" --period 2025 \
		>"$OUT/law-distribute-2025-$k.txt" 2>&1
	t1=$(now_ns)
	phases_since "$l0" "$OUT/phases_law_$k"
	read -r LAW_ID LAW_LINES LAW_ALLOCS LAW_MEMBERSHIPS LAW_CAPITAL <<<"$(psqlq "l_$k" -A -t -F ' ' -c "SELECT
		(SELECT max(id) FROM coopsettle.runs),
		(SELECT line_count FROM coopsettle.runs WHERE id = $LAW_RUN),
		(SELECT count(*) FROM coopsettle.member_allocations WHERE run_id = $LAW_RUN),
		(SELECT count(*) FROM coopsettle.run_memberships WHERE run_id = $LAW_RUN),
		(SELECT count(*) FROM coopsettle.run_capital WHERE run_id = $LAW_RUN)")"
	[[ "$LAW_ID" == "$LAW_RUN" ]] || cs_die "the timed run is run $LAW_ID, not $LAW_RUN (see $OUT/law-distribute-2025-$k.txt)"
	if ((k == 1)); then
		cs_log "writing the run's lines, allocations and snapshots to $OUT (for the floor)"
		psqlq l_1 -c "\\copy (SELECT * FROM coopsettle.ledger_lines WHERE run_id = $LAW_RUN
			ORDER BY journal, line_no) TO '$OUT/law-lines.copy'" \
			-c "\\copy (SELECT * FROM coopsettle.member_allocations WHERE run_id = $LAW_RUN
			ORDER BY member_id, currency) TO '$OUT/law-allocs.copy'" \
			-c "\\copy (SELECT * FROM coopsettle.run_memberships WHERE run_id = $LAW_RUN)
			TO '$OUT/law-memberships.copy'" \
			-c "\\copy (SELECT * FROM coopsettle.run_capital WHERE run_id = $LAW_RUN)
			TO '$OUT/law-capital.copy'"
		cs_at_exit "rm -f '$OUT'/law-*.copy"
		cp "$OUT/law-distribute-2025-1.txt" "$OUT/law-distribute-2025.txt"
	fi
	drop_db "l_$k"
	T_law+=($((t1 - t0)))
	RSS_law+=("$(cut -d' ' -f1 "$OUT/time_law_$k")")
	CPU_law+=("$(awk '{ printf "%.0f", ($2 + $3) * 1e9 }' "$OUT/time_law_$k")")
	# the time in no statement: the engine computing between them, connecting
	GAP_law+=("$(awk -v w="$((t1 - t0))" '{ s += $2 } END { printf "%.0f", w - s * 1e6 }' \
		"$OUT/phases_law_$k")")

	cs_log "rep $k/$REPS: its floor"
	fresh_db "lf_$k" "$LAW_DB"
	psqlq "lf_$k" -c "CREATE TABLE public.lines_floor (LIKE coopsettle.ledger_lines INCLUDING ALL)" \
		-c "CREATE TABLE public.allocs_floor (LIKE coopsettle.member_allocations INCLUDING ALL)" \
		-c "CREATE TABLE public.memberships_floor (LIKE coopsettle.run_memberships INCLUDING ALL)" \
		-c "CREATE TABLE public.capital_floor (LIKE coopsettle.run_capital INCLUDING ALL)"
	checkpoint
	t0=$(now_ns)
	law_reads "lf_$k" 0
	t1=$(now_ns)
	PGDATABASE="lf_$k" "$FLOOR" in "COPY public.lines_floor FROM STDIN" "$OUT/law-lines.copy" >/dev/null
	t2=$(now_ns)
	PGDATABASE="lf_$k" "$FLOOR" in "COPY public.allocs_floor FROM STDIN" "$OUT/law-allocs.copy" >/dev/null
	t3=$(now_ns)
	T_lread+=($((t1 - t0)))
	T_llines+=($((t2 - t1)))
	T_lallocs+=($((t3 - t2)))
	T_lfloor+=($((t3 - t0)))
	if ((DO_DIAG)); then
		checkpoint
		t0=$(now_ns)
		law_reads "lf_$k" 1
		t1=$(now_ns)
		PGDATABASE="lf_$k" "$FLOOR" in "COPY public.memberships_floor FROM STDIN" \
			"$OUT/law-memberships.copy" >/dev/null
		PGDATABASE="lf_$k" "$FLOOR" in "COPY public.capital_floor FROM STDIN" \
			"$OUT/law-capital.copy" >/dev/null
		t2=$(now_ns)
		T_lordered+=($((t1 - t0)))
		T_lsnap+=($((t2 - t1)))
	fi
	drop_db "lf_$k"
done
rm -f "$OUT"/law-*.copy
drop_db "$LAW_DB"

# ---------------------------------------------------------------- report

law_phase_rows()
{
	local p label v

	for p in read_members read_patronage_bases read_capital read_retained read_balances \
		copy_ledger_lines copy_member_allocations copy_run_memberships copy_run_capital \
		copy_other insert_run_record commit other; do
		case $p in
		read_members) label="read memberships (binary COPY, sorted)" ;;
		read_patronage_bases) label="read patronage bases (party totals, binary COPY)" ;;
		read_capital) label="read capital movements (binary COPY, sorted)" ;;
		read_retained) label="read retained patronage of runs 4 and 5 (binary COPY)" ;;
		read_balances) label="balances query (sums of runs 4 and 5 per account)" ;;
		copy_ledger_lines) label="write ledger lines (binary COPY, fed by a sender thread while they are built)" ;;
		copy_member_allocations) label="write member allocations (binary COPY, fed by a sender thread)" ;;
		copy_run_memberships) label="write the membership snapshot (run_memberships, text COPY)" ;;
		copy_run_capital) label="write the capital snapshot (run_capital, text COPY)" ;;
		copy_other) label="other COPY (distribution steps, cost snapshot)" ;;
		insert_run_record) label="insert the run record (with the statement)" ;;
		commit) label="COMMIT" ;;
		other) label="other statements (lock, tiling, currency totals, costs)" ;;
		esac
		v=$(phase_median law "$p")
		((v > 0)) && printf '| %s | %s |\n' "$label" "$(secs "$v")"
	done
	printf '| in no statement: the engine between statements, connections | %s |\n' \
		"$(secs "$(median "${GAP_law[@]}")")"
}

LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)"
declare -p T_law RSS_law CPU_law GAP_law T_lread T_llines T_lallocs T_lfloor T_lordered T_lsnap \
	>"$OUT/raw-law-$M.txt"
m_law=$(median "${T_law[@]}")
m_lfloor=$(median "${T_lfloor[@]}")
law_ratio=$(ratio "$m_law" "$m_lfloor")
REPORT="$OUT/report-law-$M.md"
{
	printf '### The cooperative law: distribute of 2025, %s members\n\n' "$(group "$M")"
	printf 'Run of %s at commit %s: medians of %s repetitions, wall-clock seconds.\n\n' \
		"$(date -u +%Y-%m-%d)" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" "$REPS"
	printf 'Data (`scripts/bench/generate_law.sql`, `costs_law.sql`, config `bench_law.yaml`): '
	printf '%s membership rows for %s ids (%s hold both classes, %s (id, class) pairs have two periods, ' \
		"$(group "$L_ROWS")" "$(group "$L_IDS")" "$(group "$L_BOTH")" "$(group "$L_TWO")"
	printf '%s periods begin or end inside 2025); %s capital movements (%s per member), ' \
		"$(group "$L_CHANGING")" "$(group "$L_CAP")" "$L_CAP_MOVED"
	printf 'of which the 2025 run reads %s of its members up to its last day, and %s rows of retained patronage ' \
		"$(group "$L_CAP_READ")" "$(group "$L_RETAINED")"
	printf 'of the runs of 2023 and 2024; %s party totals of the 2025 settle run; ' "$(group "$L_TOTALS")"
	printf 'the balances query sums over the %s ledger lines of those two runs. ' "$(group "$L_FEED_LINES")"
	printf 'The timed run writes %s ledger lines, %s member allocations, %s membership periods and %s capital rows into its snapshots.\n\n' \
		"$(group "$LAW_LINES")" "$(group "$LAW_ALLOCS")" "$(group "$LAW_MEMBERSHIPS")" "$(group "$LAW_CAPITAL")"
	printf 'What the three years did (the runs of 2023 and 2024, not timed, and the first timed rep):\n\n```\n'
	cat "$OUT/law-distribute-2023.txt" "$OUT/law-distribute-2024.txt" "$OUT/law-distribute-2025.txt" |
		grep -v '^  \(config\|input\|output\) '
	printf '```\n\n'
	machine_lines
	printf '| measurement | median s | all runs s |\n|---|---:|---|\n'
	row "floor: read memberships, party totals, capital movements, retained patronage, balances (binary COPY, minimal client, no ORDER BY)" \
		"$(median "${T_lread[@]}")" "${T_lread[@]}"
	row "floor: COPY $(group "$LAW_LINES") ledger lines into an empty copy of the table" \
		"$(median "${T_llines[@]}")" "${T_llines[@]}"
	row "floor: COPY $(group "$LAW_ALLOCS") member allocations into an empty copy of the table" \
		"$(median "${T_lallocs[@]}")" "${T_lallocs[@]}"
	row "**floor, total**" "$m_lfloor" "${T_lfloor[@]}"
	if ((DO_DIAG)); then
		row "(diagnostic) the same reads with the engine's ORDER BY" \
			"$(median "${T_lordered[@]}")" "${T_lordered[@]}"
		row "(diagnostic) COPY the run's $(group "$LAW_MEMBERSHIPS") membership periods and $(group "$LAW_CAPITAL") capital rows into empty copies of the snapshot tables" \
			"$(median "${T_lsnap[@]}")" "${T_lsnap[@]}"
	fi
	row "**coopsettle distribute --period 2025, committed**" "$m_law" "${T_law[@]}"
	printf '\n'
	printf -- '- **distribute / floor = %s** (target <= 1.3: %s)\n' "$law_ratio" \
		"$(verdict "$law_ratio" '<=' 1.3)"
	if ((DO_DIAG)); then
		printf -- "- against a floor that reads in the engine's order and writes the snapshots too: %s\n" \
			"$(ratio "$m_law" "$((m_lfloor - $(median "${T_lread[@]}") + $(median "${T_lordered[@]}") + $(median "${T_lsnap[@]}")))")"
	fi
	printf -- '- peak RSS %s MiB; CPU time of the process (user + system) %s s\n' \
		"$(awk -v k="$(printf '%s\n' "${RSS_law[@]}" | sort -n | tail -n 1)" 'BEGIN { printf "%.1f", k / 1024 }')" \
		"$(secs "$(median "${CPU_law[@]}")")"
	printf '\nWhere the run spends its time, server side (median per phase, from the server log; the phases follow one another):\n\n'
	printf '| phase of `coopsettle distribute --period 2025` | s |\n|---|---:|\n'
	law_phase_rows
} >"$REPORT"

printf '\n'
cat "$REPORT"
printf '\n'
if ((DO_DOC)); then
	write_doc "$LAW_MARK" "$REPORT"
fi

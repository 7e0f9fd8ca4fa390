#!/usr/bin/env bash
# bench.sh -- how fast coopsettle settles and distributes, against the floor
# of what the database must do anyway and against plain SQL.
#
# usage: scripts/bench.sh [--v2 [--small-rows N]] [--rows N] [--members N]
#                         [--dist-members N] [--reps N] [--no-distribute]
#                         [--no-diagnostics] [--no-doc]
#        scripts/bench.sh --law [--dist-members N] [--reps N]
#                         [--no-diagnostics] [--no-doc]
#        scripts/bench.sh --citus [--rows N] [--members N] [--reps N] [--no-doc]
#        scripts/bench.sh --vat [--small-rows N] [--rows N] [--members N]
#                         [--reps N] [--no-diagnostics] [--no-doc]
#
#   --law              distribute under the cooperative law only (config
#                      version 2, spec 10.2-10.3; scripts/bench/law.sh):
#                      --dist-members members with dated memberships and
#                      capital movements, settled 2023-2025 and distributed
#                      2023 and 2024 untimed (scripts/bench/bench_law.yaml,
#                      generate_law.sql, costs_law.sql); times the 2025
#                      distribute, which reads balances and retained
#                      patronage fed by both, against its floor: the
#                      minimal client reading memberships, party totals,
#                      capital movements, retained patronage and the
#                      balances query with binary COPY, and COPYing the
#                      run's ledger lines and member allocations into empty
#                      copies of the tables (target <= 1.3); diagnostics:
#                      the reads in the engine's order, the snapshots.
#                      Section bench:law:members=N
#   --citus            settle through a Citus coordinator against plain
#                      PostgreSQL (scripts/bench/citus.sh; needs the Citus
#                      source, ../shared/citus or CS_CITUS_SRC): the same
#                      data on both, committed settles alternating, time by
#                      phase on each server; target <= 1.5. Section
#                      bench:citus:rows=N of docs/scale-out.md
#   --v2               config version 2 with dated memberships instead of
#                      version 1: scripts/bench/bench_v2.yaml, data from
#                      generate_v2.sql (10% of the ids with two periods, 5%
#                      holding both classes, status changes inside the
#                      window), baseline_v2.sql; settle only (no distribute)
#   --vat              --v2 with VAT on every rule and a fee schedule that
#                      changes inside the window (spec 10.8): config
#                      scripts/bench/bench_vat.yaml (19% excluded, 8.1%
#                      included on francs, 'standard' until 2026-11-15 and
#                      'standard-new' from it), the data of --v2, baseline
#                      baseline_vat.sql, compared with its VAT totals too;
#                      section bench:vat:rows=N
#   --small-rows N     with --v2, the smaller window whose peak RSS the
#                      report compares (default 100000)
#   --rows N           transactions in the settled window (default 1000000)
#   --members N        members of the settle data set (default 100000)
#   --dist-members N   members of the distribute data set (default 1000000)
#   --reps N           repetitions of every timing; medians are quoted (3)
#   --no-distribute    skip the distribute benchmark
#   --no-diagnostics   skip the diagnostics: the settle without foreign keys
#                      and the floor that writes the lines as binary COPY
#   --no-doc           print the results only; leave docs/performance.md
#
# Builds build-bench/ (RelWithDebInfo), starts a private cluster with the
# settings initdb gives (fsync on, logged tables), generates the data with
# generate_series (scripts/bench/generate.sql), then times, each rep in a
# fresh copy of the data (CREATE DATABASE ... TEMPLATE, outside the timing):
#   (a) floor: a minimal libpq client reading the window with binary COPY,
#       plus COPY FROM STDIN of the run's ledger lines into an empty copy of
#       the ledger table (same indexes, no foreign key)
#   (b) coopsettle settle of the window, committed
#   (c) the same fee rules in plain SQL (scripts/bench/baseline.sql)
# and, as diagnostics, (b') the settle with the output tables' foreign keys
# dropped and (a') the floor with the ledger lines as binary COPY, the
# format coopsettle sends ((a) writes them as text, as psql exports them);
# checks once that (c) gives exactly (b)'s ledger lines and totals (with
# --v2 their posting dates and member flags too) and stops with exit 1,
# writing nothing into the doc, if it does not; times coopsettle distribute
# with --dist-members members against its own floor (the minimal client
# reading the members and party totals and copying the run's ledger lines
# and allocations into empty copies of the tables). With --v2, times (b)
# again on a window of --small-rows transactions for its peak RSS. Writes
# the table into docs/performance.md between the markers for this --rows
# value (bench:rows=N, bench:v2:rows=N with --v2, bench:vat:rows=N with
# --vat).
# Nothing here is a test: the timings assert nothing.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib/common.sh
source scripts/lib/common.sh
cd "$CS_ROOT"

ROWS=1000000
MEMBERS=100000
DIST_MEMBERS=1000000
REPS=3
DO_DIST=1
DO_DIAG=1
DO_DOC=1
V2=0
LAW=0
CITUS=0
SMALL_ROWS=100000
VAT=0
while (($#)); do
	case "$1" in
	--v2) V2=1; shift ;;
	--law) LAW=1; shift ;;
	--citus) CITUS=1; shift ;;
	--vat) VAT=1; shift ;;
	--small-rows) SMALL_ROWS=${2:?--small-rows needs a value}; shift 2 ;;
	--rows) ROWS=${2:?--rows needs a value}; shift 2 ;;
	--members) MEMBERS=${2:?--members needs a value}; shift 2 ;;
	--dist-members) DIST_MEMBERS=${2:?--dist-members needs a value}; shift 2 ;;
	--reps) REPS=${2:?--reps needs a value}; shift 2 ;;
	--no-distribute) DO_DIST=0; shift ;;
	--no-diagnostics) DO_DIAG=0; shift ;;
	--no-doc) DO_DOC=0; shift ;;
	-h | --help) sed -n '2,80s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
	*) cs_die "unknown option '$1' (see --help)" ;;
	esac
done
for v in "$ROWS" "$MEMBERS" "$DIST_MEMBERS" "$REPS" "$SMALL_ROWS"; do
	[[ "$v" =~ ^[1-9][0-9]*$ ]] || cs_die "not a positive integer: '$v'"
done
((MEMBERS >= 5 && DIST_MEMBERS >= 5)) || cs_die "at least 5 members"
((!LAW || DIST_MEMBERS >= 100)) || cs_die "--law needs at least 100 members (--dist-members)"
((!LAW || !V2)) || cs_die "--law and --v2 are separate benchmarks"
((!LAW || !VAT)) || cs_die "--law and --vat are separate benchmarks"
((VAT)) && V2=1 # --vat is --v2 with another config and baseline (below)
if ((V2)); then
	((MEMBERS >= 100)) || cs_die "--v2 needs at least 100 members"
	DO_DIST=0 # distribute with version 2 reads capital and costs: not benchmarked here
fi

BUILD_DIR=build-bench
OUT="$BUILD_DIR/bench"
CS="$BUILD_DIR/coopsettle"
FLOOR="$BUILD_DIR/copy_floor"
CFG=scripts/bench/bench.yaml
GENERATE=scripts/bench/generate.sql
BASELINE=scripts/bench/baseline.sql
DATED=false # compare posting dates and member flags (config version 2)
MARK="bench:rows=$ROWS"
TAG="$ROWS" # of the files in $OUT
if ((V2)); then
	CFG=scripts/bench/bench_v2.yaml
	GENERATE=scripts/bench/generate_v2.sql
	BASELINE=scripts/bench/baseline_v2.sql
	DATED=true
	MARK="bench:v2:rows=$ROWS"
	TAG="v2-$ROWS"
fi
V2_TITLE="Version 2, dated memberships"
CMP_VAT=false # compare the totals' vat_minor (compare.sql)
if ((VAT)); then
	# --vat: the data of --v2; VAT on every rule and one dated schedule
	# change inside the window (spec 10.8)
	CFG=scripts/bench/bench_vat.yaml
	BASELINE=scripts/bench/baseline_vat.sql
	MARK="bench:vat:rows=$ROWS"
	TAG="vat-$ROWS"
	V2_TITLE="VAT on every rule, a fee schedule change on 2026-11-15"
	CMP_VAT=true
fi
PERIOD=2026-11
# The window of --period 2026-11 in the config's time zone (Europe/Berlin),
# and its local days [FIRST_DAY, END_DAY).
FROM='2026-11-01 00:00:00+01'
TO='2026-12-01 00:00:00+01'
FIRST_DAY=2026-11-01
END_DAY=2026-12-01
DOC=docs/performance.md

# ---------------------------------------------------------------- helpers

now_ns() { date +%s%N; }

# median N...: the middle value (the lower middle for an even count).
median()
{
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# secs NS: nanoseconds as seconds with two decimals.
secs() { awk -v n="$1" 'BEGIN { printf "%.2f", n / 1e9 }'; }

# group N: N with thousands separators (1,000,000), whatever the locale.
group() { sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"$1"; }

# ratio X Y: X / Y with two decimals.
ratio() { awk -v x="$1" -v y="$2" 'BEGIN { printf "%.2f", x / y }'; }

# psqlq DB ARGS...: psql without psqlrc, stopping at the first error.
psqlq() { local db=$1; shift; psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }

# fresh_db NAME TEMPLATE: NAME as a file copy of TEMPLATE (checkpoints).
fresh_db()
{
	psqlq postgres -c "DROP DATABASE IF EXISTS $1" \
		-c "CREATE DATABASE $1 TEMPLATE $2 STRATEGY FILE_COPY"
}

drop_db() { psqlq postgres -c "DROP DATABASE IF EXISTS $1"; }

checkpoint() { psqlq postgres -c CHECKPOINT; }

# log_db DB: log every statement's duration in DB (for the phase table).
log_db() { psqlq postgres -c "ALTER DATABASE $1 SET log_min_duration_statement = 0"; }

# phases_since LINE FILE: the phases of the run logged after line LINE.
phases_since()
{
	tail -n "+$(($1 + 1))" "$CS_PG_LOG" | awk -f scripts/bench/phases.awk >"$2"
}

log_lines() { wc -l <"$CS_PG_LOG"; }

# drop_fks DB: drop the foreign keys of the output tables (diagnostic only).
drop_fks()
{
	psqlq "$1" -c "DO \$\$ DECLARE c record; BEGIN
		FOR c IN SELECT conrelid::regclass AS t, conname FROM pg_catalog.pg_constraint
			 WHERE contype = 'f' AND connamespace = 'coopsettle'::regnamespace
			   AND confrelid = 'coopsettle.runs'::regclass
		LOOP EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', c.t, c.conname); END LOOP;
	END \$\$"
}

# timed_settle DB TAG: coopsettle settle of the window in DB, committed.
# Appends the wall time (ns) to T_<TAG>, peak RSS (KiB) to RSS_<TAG>, and
# writes the phase table to $OUT/phases_<TAG>_<k>.
timed_settle()
{
	local db=$1 tag=$2 k=$3 l0 t0 t1

	log_db "$db"
	checkpoint
	l0=$(log_lines)
	t0=$(now_ns)
	/usr/bin/time -f '%M %U %S' -o "$OUT/time_${tag}_$k" \
		"$CS" --db "dbname=$db" settle --config "$CFG" --period "$PERIOD" --no-progress \
		>"$OUT/settle_${tag}_$k.txt" 2>&1
	t1=$(now_ns)
	phases_since "$l0" "$OUT/phases_${tag}_$k"
	eval "T_$tag+=($((t1 - t0)))"
	eval "RSS_$tag+=($(cut -d' ' -f1 "$OUT/time_${tag}_$k"))"
	eval "CPU_$tag+=($(awk '{ printf "%.0f", ($2 + $3) * 1e9 }' "$OUT/time_${tag}_$k"))"
}

# phase_median TAG PHASE: median over the reps of one phase (ns), 0 if none.
phase_median()
{
	local tag=$1 phase=$2 k v=()

	for ((k = 1; k <= REPS; k++)); do
		v+=("$(awk -v p="$phase" '$1 == p { ms = $2 } END { printf "%.0f", ms * 1e6 }' \
			"$OUT/phases_${tag}_$k")")
	done
	median "${v[@]}"
}

# verdict VALUE OP TARGET: "met" or "missed" (OP is <=, >= or <).
verdict()
{
	awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN {
		ok = (op == "<=") ? (v <= t) : (op == ">=") ? (v >= t) : (v < t)
		print ok ? "met" : "missed" }'
}

# row LABEL MEDIAN_NS ALL_NS...: a table row of the report, in seconds.
row()
{
	local all="" v

	for v in "${@:3}"; do all+="$(secs "$v") "; done
	printf '| %s | %s | %s |\n' "$1" "$(secs "$2")" "${all% }"
}

# machine_lines: the machine, server and load paragraphs of a report.
machine_lines()
{
	printf 'Machine: %s CPUs (%s), %s RAM; PostgreSQL %s; %s.\n\n' \
		"$MACHINE_NPROC" "$MACHINE_CPU" "$MACHINE_MEM" "$PG_VERSION" "$(gcc -dumpfullversion | sed 's/^/gcc /')"
	printf 'Server settings (as initdb made them): `%s`\n\n' "${PG_SETTINGS% }"
	printf 'Load average (1, 5, 15 min) at the start %s, at the end %s: the machine is shared.\n\n' \
		"$LOAD_START" "$LOAD_END"
}

# write_doc MARK REPORT: REPORT into $DOC between the markers of MARK
# (replacing what is there, or appended at the end).
write_doc()
{
	python3 - "$DOC" "$1" "$2" <<'EOF'
import sys
doc, mark, report = sys.argv[1], sys.argv[2], sys.argv[3]
begin, end = f"<!-- {mark}:begin -->", f"<!-- {mark}:end -->"
block = begin + "\n" + open(report).read().rstrip("\n") + "\n" + end
try:
    text = open(doc).read()
except FileNotFoundError:
    text = "# Performance\n\n## Results\n"
if begin in text and end in text:
    head, rest = text.split(begin, 1)
    text = head + block + rest.split(end, 1)[1]
else:
    text = text.rstrip("\n") + "\n\n" + block + "\n"
open(doc, "w").write(text)
EOF
	cs_log "results written to $DOC"
}

# ------------------------------------------ --citus: a benchmark of its own
if ((CITUS)); then
	((!LAW && !V2)) || cs_die "--citus, --law and --v2 are separate benchmarks"
	# shellcheck source=scripts/bench/citus.sh
	source scripts/bench/citus.sh
	exit 0
fi

# ---------------------------------------------------------------- set-up

cs_install_deps
cs_lock "$BUILD_DIR"
cs_build "$BUILD_DIR" >&2
mkdir -p "$OUT"
rm -f "$OUT"/phases_* "$OUT"/time_* "$OUT"/settle_*
cs_log "compiling scripts/bench/copy_floor.c"
gcc -O2 -Wall -Wextra -Werror -I"$(pg_config --includedir)" scripts/bench/copy_floor.c \
	-L"$(pg_config --libdir)" -lpq -o "$FLOOR"
cs_pg_start "$BUILD_DIR"
cs_at_exit "rm -f '$OUT/ledger.copy' '$OUT/ledger.bin'"

pg_setting() { psql -X -A -t -d postgres -c "SHOW $1"; }
MACHINE_CPU="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
MACHINE_NPROC="$(nproc)"
MACHINE_MEM="$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
PG_VERSION="$(psql -X -A -t -d postgres -c 'SHOW server_version')"
PG_SETTINGS=""
for s in shared_buffers fsync synchronous_commit wal_level full_page_writes max_wal_size \
	work_mem jit max_parallel_workers_per_gather; do
	PG_SETTINGS+="$s=$(pg_setting "$s") "
done

LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
if ((LAW)); then
	# shellcheck source=scripts/bench/law.sh
	source scripts/bench/law.sh
	exit 0
fi
cs_log "generating $ROWS transactions, $MEMBERS members (database benchdata)"
psqlq postgres -c "CREATE DATABASE benchdata"
"$CS" --db dbname=benchdata init-db >/dev/null
psqlq benchdata -v rows="$ROWS" -v members="$MEMBERS" -v cover=0 -f "$GENERATE" >/dev/null
psqlq benchdata -f scripts/bench/baseline_setup.sql
if ((V2)); then
	cs_log "describing the memberships (scripts/bench/stats_v2.sql)"
	read -r S_ROWS S_IDS S_BOTH S_TWO S_CHANGING S_TXNS S_LOCAL S_DATED <<<"$(psqlq benchdata -A -t \
		-F ' ' -v from="$FROM" -v to="$TO" -v first_day="$FIRST_DAY" -v end_day="$END_DAY" \
		-v tz=Europe/Berlin -f scripts/bench/stats_v2.sql)"
fi
# warm the OS cache the same way for every measurement that follows
export PGDATABASE=benchdata
"$FLOOR" out "COPY coopsettle.transactions TO STDOUT (FORMAT binary)" >/dev/null

READ_SQL="COPY (SELECT id, occurred_at, producer_id, consumer_id, amount_minor, currency, category
	FROM coopsettle.transactions
	WHERE occurred_at >= '$FROM'::timestamptz AND occurred_at < '$TO'::timestamptz)
	TO STDOUT (FORMAT binary)"

# ---------------------------------------------------------------- settle

T_b=() RSS_b=() CPU_b=() T_nofk=() RSS_nofk=() CPU_nofk=()
T_read=() T_write=() T_floor=() T_sql=() T_writebin=() T_floorbin=()
for ((k = 1; k <= REPS; k++)); do
	cs_log "rep $k/$REPS: (b) coopsettle settle"
	fresh_db "b_$k" benchdata
	timed_settle "b_$k" b "$k"
	LINES="$(psqlq "b_$k" -A -t -c "SELECT line_count FROM coopsettle.runs WHERE id = 1")"
	PARTIES="$(psqlq "b_$k" -A -t -c "SELECT count(*) FROM coopsettle.party_totals WHERE run_id = 1")"
	if ((k == 1)); then
		cs_log "writing the run's $LINES ledger lines to $OUT/ledger.copy (for the floor)"
		psqlq b_1 -c "\\copy (SELECT * FROM coopsettle.ledger_lines WHERE run_id = 1
			ORDER BY journal, line_no) TO '$OUT/ledger.copy'"
		if ((DO_DIAG)); then # the same lines in coopsettle's own format
			psqlq b_1 -c "\\copy (SELECT * FROM coopsettle.ledger_lines WHERE run_id = 1
				ORDER BY journal, line_no) TO '$OUT/ledger.bin' WITH (FORMAT binary)"
		fi
	else
		drop_db "b_$k" # b_1 stays for the check of the baseline
	fi

	cs_log "rep $k/$REPS: (a) floor"
	checkpoint
	t0=$(now_ns)
	"$FLOOR" out "$READ_SQL" >"$OUT/floor_read_$k.txt"
	t1=$(now_ns)
	fresh_db "floor_$k" benchdata
	psqlq "floor_$k" -c "CREATE TABLE public.ledger_floor (LIKE coopsettle.ledger_lines INCLUDING ALL)"
	checkpoint
	t2=$(now_ns)
	PGDATABASE="floor_$k" "$FLOOR" in "COPY public.ledger_floor FROM STDIN" "$OUT/ledger.copy" \
		>"$OUT/floor_write_$k.txt"
	t3=$(now_ns)
	T_read+=($((t1 - t0)))
	T_write+=($((t3 - t2)))
	T_floor+=($((t1 - t0 + t3 - t2)))
	if ((DO_DIAG)); then
		# (a') the same lines as binary COPY, the format coopsettle sends:
		# less CPU for the server than text, but 68% more bytes through the
		# socket (diagnostic; docs/performance.md, "Config version 2")
		psqlq "floor_$k" -c "CREATE TABLE public.ledger_floor_bin (LIKE coopsettle.ledger_lines INCLUDING ALL)"
		checkpoint
		t2=$(now_ns)
		PGDATABASE="floor_$k" "$FLOOR" in "COPY public.ledger_floor_bin FROM STDIN (FORMAT binary)" \
			"$OUT/ledger.bin" >"$OUT/floor_writebin_$k.txt"
		t3=$(now_ns)
		T_writebin+=($((t3 - t2)))
		T_floorbin+=($((t1 - t0 + t3 - t2)))
	fi
	drop_db "floor_$k"

	cs_log "rep $k/$REPS: (c) plain SQL"
	fresh_db "c_$k" benchdata
	checkpoint
	t0=$(now_ns)
	psqlq "c_$k" -v from="$FROM" -v to="$TO" -v run_id=1 -f "$BASELINE"
	t1=$(now_ns)
	drop_db "c_$k"
	T_sql+=($((t1 - t0)))

	if ((DO_DIAG)); then
		cs_log "rep $k/$REPS: (b') coopsettle settle, output tables without foreign keys"
		fresh_db "nofk_$k" benchdata
		drop_fks "nofk_$k"
		timed_settle "nofk_$k" nofk "$k"
		drop_db "nofk_$k"
	fi
done

cs_log "checking that the plain SQL gives coopsettle's lines and totals"
psqlq b_1 -v from="$FROM" -v to="$TO" -v run_id=1 -f "$BASELINE"
check_lines=false
((ROWS > 2000000)) || check_lines=true
CHECK="$(psqlq b_1 -A -t -F ' ' -v cs_run=1 -v sql_run=1 -v check_lines="$check_lines" \
	-v dated="$DATED" -v vat="$CMP_VAT" -f scripts/bench/compare.sql)"
read -r D_LINES D_PARTIES D_CURRENCIES N_CS N_SQL <<<"$CHECK"
if [[ "$D_PARTIES" == 0 && "$D_CURRENCIES" == 0 && "$D_LINES" =~ ^(0|-)$ && "$N_CS" == "$N_SQL" ]]; then
	MATCH="yes"
else
	MATCH="NO"
fi
if [[ "$D_LINES" == "-" ]]; then
	MATCH_WHAT="party and currency totals and line counts (line by line only up to 2,000,000 rows)"
elif [[ "$DATED" == true ]]; then
	MATCH_WHAT="every ledger line with its posted_on, party total with its member flag, and currency total, compared line by line"
	[[ "$CMP_VAT" == true ]] && MATCH_WHAT="every ledger line with its posted_on (the VAT lines included), party total with its member flag and vat_minor, and currency total with its vat_minor, compared line by line"
else
	MATCH_WHAT="every ledger line, party total and currency total"
fi
cs_log "baseline equals coopsettle: $MATCH (differing: lines $D_LINES, party totals $D_PARTIES, currency totals $D_CURRENCIES; lines $N_CS vs $N_SQL)"
if [[ "$MATCH" != yes ]]; then
	psqlq b_1 -v cs_run=1 -v sql_run=1 -v dated="$DATED" -v vat="$CMP_VAT" -v show=true \
		-f scripts/bench/compare.sql >&2
	cs_die "the plain-SQL baseline ($BASELINE) does not give coopsettle's lines and totals: no figures are written (the first differing rows are above; the databases are gone with the cluster)"
fi
drop_db b_1
rm -f "$OUT/ledger.copy" "$OUT/ledger.bin"

# ---------------------------------------------------------------- settle, smaller window (--v2)

# Peak RSS must not grow with the transactions: the same members, a window
# of --small-rows transactions, (b) timed the same way.
T_small=() RSS_small=() CPU_small=()
if ((V2)); then
	cs_log "generating $SMALL_ROWS transactions, $MEMBERS members (database smalldata)"
	drop_db benchdata # its copies are made; the disk is shared
	psqlq postgres -c "CREATE DATABASE smalldata"
	"$CS" --db dbname=smalldata init-db >/dev/null
	psqlq smalldata -v rows="$SMALL_ROWS" -v members="$MEMBERS" -f "$GENERATE" >/dev/null
	PGDATABASE=smalldata "$FLOOR" out "COPY coopsettle.transactions TO STDOUT (FORMAT binary)" >/dev/null
	for ((k = 1; k <= REPS; k++)); do
		cs_log "rep $k/$REPS: (b) coopsettle settle of $SMALL_ROWS transactions"
		fresh_db "s_$k" smalldata
		timed_settle "s_$k" small "$k"
		SMALL_LINES="$(psqlq "s_$k" -A -t -c "SELECT line_count FROM coopsettle.runs WHERE id = 1")"
		SMALL_PARTIES="$(psqlq "s_$k" -A -t -c "SELECT count(*) FROM coopsettle.party_totals WHERE run_id = 1")"
		drop_db "s_$k"
	done
	drop_db smalldata
fi

# ---------------------------------------------------------------- distribute

T_dist=() RSS_dist=() CPU_dist=() T_dfread=() T_dflines=() T_dfallocs=() T_dfloor=()
if ((DO_DIST)); then
	cs_log "generating $DIST_MEMBERS members and $DIST_MEMBERS transactions touching all of them"
	psqlq postgres -c "CREATE DATABASE distdata"
	"$CS" --db dbname=distdata init-db >/dev/null
	psqlq distdata -v rows="$DIST_MEMBERS" -v members="$DIST_MEMBERS" -v cover=1 \
		-f scripts/bench/generate.sql >/dev/null
	cs_log "settling them (not timed)"
	"$CS" --db dbname=distdata settle --config "$CFG" --period "$PERIOD" --no-progress >/dev/null
	DIST_PARTIES="$(psqlq distdata -A -t -c "SELECT count(DISTINCT party_id) FROM coopsettle.party_totals")"
	for ((k = 1; k <= REPS; k++)); do
		cs_log "rep $k/$REPS: coopsettle distribute"
		fresh_db "d_$k" distdata
		log_db "d_$k"
		checkpoint
		l0=$(log_lines)
		t0=$(now_ns)
		/usr/bin/time -f '%M %U %S' -o "$OUT/time_dist_$k" \
			"$CS" --db "dbname=d_$k" distribute --config "$CFG" --period "$PERIOD" \
			>"$OUT/distribute_$k.txt" 2>&1
		t1=$(now_ns)
		phases_since "$l0" "$OUT/phases_dist_$k"
		DIST_LINES="$(psqlq "d_$k" -A -t -c "SELECT line_count FROM coopsettle.runs WHERE kind = 'distribute'")"
		DIST_ALLOCS="$(psqlq "d_$k" -A -t -c "SELECT count(*) FROM coopsettle.member_allocations")"
		if ((k == 1)); then
			cs_log "writing the run's lines and allocations to $OUT (for the distribute floor)"
			psqlq d_1 -c "\\copy (SELECT * FROM coopsettle.ledger_lines WHERE run_id = 2
				ORDER BY journal, line_no) TO '$OUT/dist-lines.copy'" \
				-c "\\copy (SELECT * FROM coopsettle.member_allocations WHERE run_id = 2
				ORDER BY member_id, currency) TO '$OUT/dist-allocs.copy'"
		fi
		drop_db "d_$k"
		T_dist+=($((t1 - t0)))
		RSS_dist+=("$(cut -d' ' -f1 "$OUT/time_dist_$k")")
		CPU_dist+=("$(awk '{ printf "%.0f", ($2 + $3) * 1e9 }' "$OUT/time_dist_$k")")

		# The floor of a distribute run: read what it must read (members,
		# the settle run's party totals) and write what it must write (its
		# ledger lines and member allocations, into empty copies of the
		# tables with the same indexes), with the minimal client.
		cs_log "rep $k/$REPS: distribute floor"
		fresh_db "df_$k" distdata
		psqlq "df_$k" -c "CREATE TABLE public.lines_floor (LIKE coopsettle.ledger_lines INCLUDING ALL)" \
			-c "CREATE TABLE public.allocs_floor (LIKE coopsettle.member_allocations INCLUDING ALL)"
		checkpoint
		t0=$(now_ns)
		PGDATABASE="df_$k" "$FLOOR" out "COPY (SELECT id, class, joined_on, left_on,
			paid_in_capital_minor FROM coopsettle.members ORDER BY id) TO STDOUT (FORMAT binary)" >/dev/null
		PGDATABASE="df_$k" "$FLOOR" out "COPY (SELECT party_id, side, currency, fees_minor,
			gross_minor FROM coopsettle.party_totals WHERE run_id = 1) TO STDOUT (FORMAT binary)" >/dev/null
		t1=$(now_ns)
		PGDATABASE="df_$k" "$FLOOR" in "COPY public.lines_floor FROM STDIN" "$OUT/dist-lines.copy" >/dev/null
		t2=$(now_ns)
		PGDATABASE="df_$k" "$FLOOR" in "COPY public.allocs_floor FROM STDIN" "$OUT/dist-allocs.copy" >/dev/null
		t3=$(now_ns)
		drop_db "df_$k"
		T_dfread+=($((t1 - t0)))
		T_dflines+=($((t2 - t1)))
		T_dfallocs+=($((t3 - t2)))
		T_dfloor+=($((t3 - t0)))
	done
	rm -f "$OUT/dist-lines.copy" "$OUT/dist-allocs.copy"
	drop_db distdata
fi

# ---------------------------------------------------------------- report

m_b=$(median "${T_b[@]}")
m_read=$(median "${T_read[@]}")
m_write=$(median "${T_write[@]}")
m_floor=$(median "${T_floor[@]}")
m_sql=$(median "${T_sql[@]}")
rss_b=$(printf '%s\n' "${RSS_b[@]}" | sort -n | tail -n 1)
ba=$(ratio "$m_b" "$m_floor")
cb=$(ratio "$m_sql" "$m_b")
rss_mib=$(awk -v k="$rss_b" 'BEGIN { printf "%.1f", k / 1024 }')

{
	printf '%s\n' "$ROWS" "$rss_b" >"$OUT/results-$TAG.txt"
}
RSS_LINE="peak RSS of coopsettle settle: $rss_mib MiB (target <= 256 MiB: $(verdict "$rss_mib" '<=' 256))"
if ((V2)); then
	rss_small=$(printf '%s\n' "${RSS_small[@]}" | sort -n | tail -n 1)
	RSS_LINE+="; at $(group "$SMALL_ROWS") transactions $(awk -v k="$rss_small" 'BEGIN { printf "%.1f", k / 1024 }') MiB, so $(group "$ROWS") take $(ratio "$rss_b" "$rss_small") x the memory of $(group "$SMALL_ROWS") (target <= 1.1: $(verdict "$(ratio "$rss_b" "$rss_small")" '<=' 1.1))"
elif ((ROWS != 1000000)) && [[ -f "$OUT/results-1000000.txt" ]]; then
	rss_1m=$(sed -n 2p "$OUT/results-1000000.txt")
	RSS_LINE+="; $(ratio "$rss_b" "$rss_1m") x the 1,000,000-row figure of $(awk -v k="$rss_1m" 'BEGIN { printf "%.1f", k / 1024 }') MiB (target <= 1.1: $(verdict "$(ratio "$rss_b" "$rss_1m")" '<=' 1.1))"
fi

phase_rows()
{
	local tag=$1 p label

	for p in read_members read_transactions copy_ledger_lines copy_party_totals \
		insert_run_record commit copy_run_inputs copy_run_memberships \
		read_patronage_bases copy_member_allocations copy_other other; do
		case $p in
		read_members) label="read members (binary COPY)" ;;
		read_transactions) label="read transactions (binary COPY, sorted; overlaps the next)" ;;
		copy_ledger_lines) label="write ledger lines (binary COPY FROM STDIN, fed by a sender thread)" ;;
		copy_party_totals) label="write party totals (COPY)" ;;
		insert_run_record) label="insert the run record (with the statement)" ;;
		copy_run_inputs) label="write the input snapshot (run_input_chunks, binary COPY)" ;;
		copy_run_memberships) label="write the membership snapshot (run_memberships, COPY)" ;;
		commit) label="COMMIT (deferred foreign-key checks of the small tables)" ;;
		read_patronage_bases) label="read patronage bases (party totals, binary COPY)" ;;
		copy_member_allocations) label="write member allocations (binary COPY, fed by a sender thread)" ;;
		copy_other) label="other COPY" ;;
		other) label="other statements" ;;
		esac
		v=$(phase_median "$tag" "$p")
		((v > 0)) && printf '| %s | %s |\n' "$label" "$(secs "$v")"
	done
	return 0
}

LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)"
# every raw timing (ns) and RSS (KiB), for the record
declare -p T_read T_write T_floor T_writebin T_floorbin T_b RSS_b CPU_b T_nofk RSS_nofk CPU_nofk T_sql \
	T_dist RSS_dist CPU_dist T_dfread T_dflines T_dfallocs T_dfloor \
	T_small RSS_small CPU_small >"$OUT/raw-$TAG.txt"
REPORT="$OUT/report-$TAG.md"
{
	if ((V2)); then
		printf '### %s: %s transactions, %s members\n\n' \
			"$V2_TITLE" "$(group "$ROWS")" "$(group "$MEMBERS")"
		printf 'Run of %s at commit %s: medians of %s repetitions, wall-clock seconds.\n\n' \
			"$(date -u +%Y-%m-%d)" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" "$REPS"
		printf 'Data (`scripts/bench/generate_v2.sql`, `stats_v2.sql`): %s membership rows for %s ids; ' \
			"$(group "$S_ROWS")" "$(group "$S_IDS")"
		printf '%s ids hold both classes, %s (id, class) pairs have two periods, ' \
			"$(group "$S_BOTH")" "$(group "$S_TWO")"
		printf '%s pairs are members on some local days of the window and not on others. ' \
			"$(group "$S_CHANGING")"
		printf 'Of the %s transactions, %s have other member flags on their local day ' \
			"$(group "$S_TXNS")" "$(group "$S_LOCAL")"
		printf '(Europe/Berlin) than on their UTC day, and %s other flags than the memberships give without their dates.\n\n' \
			"$(group "$S_DATED")"
	else
		printf '### %s transactions, %s members\n\n' "$(group "$ROWS")" "$(group "$MEMBERS")"
		printf 'Run of %s: medians of %s repetitions, wall-clock seconds.\n\n' "$(date -u +%Y-%m-%d)" "$REPS"
	fi
	machine_lines
	printf '| measurement | median s | all runs s |\n|---|---:|---|\n'
	row "(a) floor: read the window (binary COPY, minimal client)" "$m_read" "${T_read[@]}"
	row "(a) floor: COPY $(group "$LINES") ledger lines into an empty copy of the table" "$m_write" "${T_write[@]}"
	row "**(a) floor, total**" "$m_floor" "${T_floor[@]}"
	if ((DO_DIAG)); then
		row "(a') floor with the ledger lines as binary COPY, coopsettle's format (diagnostic)" \
			"$(median "${T_floorbin[@]}")" "${T_floorbin[@]}"
	fi
	row "**(b) coopsettle settle, committed**" "$m_b" "${T_b[@]}"
	if ((DO_DIAG)); then
		row "(b') coopsettle settle, output tables without foreign keys (diagnostic)" \
			"$(median "${T_nofk[@]}")" "${T_nofk[@]}"
	fi
	row "**(c) plain SQL ($(basename "$BASELINE")), committed**" "$m_sql" "${T_sql[@]}"
	if ((V2)); then
		row "(b) coopsettle settle of $(group "$SMALL_ROWS") transactions (for its peak RSS)" \
			"$(median "${T_small[@]}")" "${T_small[@]}"
	fi
	printf '\n'
	printf -- '- **b/a = %s** (target <= 1.25: %s)\n' "$ba" "$(verdict "$ba" '<=' 1.25)"
	if ((DO_DIAG)); then
		bpa=$(ratio "$(median "${T_nofk[@]}")" "$m_floor")
		printf -- "- b'/a = %s (coopsettle without the output tables' foreign keys)\n" "$bpa"
		printf -- "- b/a' = %s (against the floor that writes the lines in binary, as coopsettle does)\n" \
			"$(ratio "$m_b" "$(median "${T_floorbin[@]}")")"
	fi
	printf -- '- **c/b = %s** (target >= 1.5: %s)\n' "$cb" "$(verdict "$cb" '>=' 1.5)"
	printf -- '- %s\n' "$RSS_LINE"
	if ((V2)); then
		printf -- '- party totals (what the peak grows with: the engine holds them until the end): %s at %s transactions, %s at %s (ledger lines %s and %s)\n' \
			"$(group "$PARTIES")" "$(group "$ROWS")" "$(group "$SMALL_PARTIES")" "$(group "$SMALL_ROWS")" \
			"$(group "$LINES")" "$(group "$SMALL_LINES")"
	fi
	printf -- '- CPU time of the coopsettle process (user + system): %s s\n' "$(secs "$(median "${CPU_b[@]}")")"
	printf -- '- baseline equals coopsettle (%s): **%s**\n' "$MATCH_WHAT" "$MATCH"
	printf '\nWhere (b) spends its time, server side (median per phase, from the server log):\n\n'
	printf '| phase of `coopsettle settle` | s |\n|---|---:|\n'
	phase_rows b
	if ((DO_DIAG)); then
		printf "\nThe same for (b'), without foreign keys:\n\n"
		printf '| phase | s |\n|---|---:|\n'
		phase_rows nofk
	fi
	if ((DO_DIST)); then
		m_dist=$(median "${T_dist[@]}")
		printf '\n#### distribute, %s members\n\n' "$(group "$DIST_MEMBERS")"
		printf 'One settle run of %s transactions touching every member (%s parties with totals); ' \
			"$(group "$DIST_MEMBERS")" "$(group "$DIST_PARTIES")"
		printf 'the distribute run writes %s ledger lines and %s member allocations.\n\n' \
			"$(group "$DIST_LINES")" "$(group "$DIST_ALLOCS")"
		m_dfloor=$(median "${T_dfloor[@]}")
		printf '| measurement | median s | all runs s |\n|---|---:|---|\n'
		row "floor: read members and party totals (binary COPY, minimal client)" \
			"$(median "${T_dfread[@]}")" "${T_dfread[@]}"
		row "floor: COPY $(group "$DIST_LINES") ledger lines into an empty copy of the table" \
			"$(median "${T_dflines[@]}")" "${T_dflines[@]}"
		row "floor: COPY $(group "$DIST_ALLOCS") member allocations into an empty copy of the table" \
			"$(median "${T_dfallocs[@]}")" "${T_dfallocs[@]}"
		row "**distribute floor, total**" "$m_dfloor" "${T_dfloor[@]}"
		row "**coopsettle distribute, committed**" "$m_dist" "${T_dist[@]}"
		printf '\n'
		printf -- '- **coopsettle distribute: %s s** median (target < 5 s: %s); %s x its floor of %s s\n' \
			"$(secs "$m_dist")" "$(verdict "$(secs "$m_dist")" '<' 5)" \
			"$(ratio "$m_dist" "$m_dfloor")" "$(secs "$m_dfloor")"
		printf -- '- peak RSS %s MiB; CPU time of the process %s s\n\n' \
			"$(awk -v k="$(printf '%s\n' "${RSS_dist[@]}" | sort -n | tail -n 1)" 'BEGIN { printf "%.1f", k / 1024 }')" \
			"$(secs "$(median "${CPU_dist[@]}")")"
		printf '| phase of `coopsettle distribute` | s |\n|---|---:|\n'
		phase_rows dist
	fi
} >"$REPORT"

printf '\n'
cat "$REPORT"
printf '\n'

if ((DO_DOC)); then
	write_doc "$MARK" "$REPORT"
fi

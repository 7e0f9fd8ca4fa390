# shellcheck shell=bash
# common.sh -- shared helpers for the coopsettle set-up scripts.
#
# Sourced, never run, by scripts/test.sh, scripts/demo.sh and .ci/run's
# children. It checks (or, as root, installs) the Debian packages, builds
# with CMake, and runs a private, throw-away PostgreSQL 15 cluster that lives
# exactly as long as the calling script: every run starts from an empty
# cluster and every exit -- normal, error, SIGINT, SIGTERM -- stops it.
#
# The caller is expected to run under `set -euo pipefail`. Sourcing this file
# installs EXIT/INT/TERM/HUP traps; add your own clean-up with cs_at_exit
# rather than with `trap`, which would replace ours.

if [[ -n "${CS_COMMON_SOURCED:-}" ]]; then
	return 0
fi
CS_COMMON_SOURCED=1

CS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"

# Debian 12 packages needed to build, test and demo coopsettle. Extend here.
# (man-db and groff-base: tests/integration/test_install.sh renders the man
# page; chromium: tests/integration/test_report.py renders the report
# headless.)
CS_DEPS="build-essential cmake pkg-config clang libclang-rt-14-dev libpq-dev
	libgmp-dev libyaml-dev libssl-dev libcmocka-dev postgresql-15
	postgresql-client-15 python3 python3-psycopg2 valgrind time
	hledger beancount man-db groff-base chromium poppler-utils"

# We only use these binaries, never postgresql-common's clusters or wrappers.
CS_PG_BIN="${CS_PG_BIN:-/usr/lib/postgresql/15/bin}"
# initdb and postgres refuse to run as root; as root we use this system user.
CS_PG_OS_USER="${CS_PG_OS_USER:-coopsettle-pg}"
# Longest Unix socket path the kernel accepts (sun_path is 108 bytes with NUL).
CS_SOCKET_PATH_MAX=107
# File descriptor holding the build-directory lock (see cs_lock).
CS_LOCK_FD=200

# ---------------------------------------------------------------- messages

# cs_log MESSAGE...: progress line on stderr.
cs_log()
{
	printf '==> %s\n' "$*" >&2
}

# cs_die MESSAGE...: error line on stderr, then exit 1 (the traps clean up).
cs_die()
{
	printf 'error: %s\n' "$*" >&2
	exit 1
}

# ---------------------------------------------------------------- exit hooks

CS__EXIT_HOOKS=()

# cs_at_exit COMMAND: run COMMAND (a string, eval'd) when the script exits,
# however it exits. Hooks run last-registered first.
cs_at_exit()
{
	CS__EXIT_HOOKS+=("$1")
}

cs__on_exit()
{
	local rc=$? i

	set +e
	for ((i = ${#CS__EXIT_HOOKS[@]} - 1; i >= 0; i--)); do
		eval "${CS__EXIT_HOOKS[i]}"
	done
	CS__EXIT_HOOKS=()
	exit "$rc"
}

cs__on_signal()
{
	local sig=$1 rc=$2

	trap - "$sig"
	printf '\n==> caught SIG%s, cleaning up\n' "$sig" >&2
	exit "$rc" # runs cs__on_exit
}

trap cs__on_exit EXIT
trap 'cs__on_signal INT 130' INT
trap 'cs__on_signal TERM 143' TERM
trap 'cs__on_signal HUP 129' HUP

# ---------------------------------------------------------------- packages

# cs_install_deps [PACKAGES]: make sure every package in PACKAGES (default
# CS_DEPS) is installed. As root, installs the missing ones with apt-get;
# otherwise prints the command to run and exits 1.
cs_install_deps()
{
	local pkg status
	local -a missing=()
	local list="${1:-$CS_DEPS}"

	if ! command -v dpkg-query >/dev/null 2>&1; then
		cs_log "dpkg-query not found: not checking for Debian packages"
		return 0
	fi
	for pkg in $list; do
		status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
		if [[ "$status" != "install ok installed" ]]; then
			missing+=("$pkg")
		fi
	done
	if ((${#missing[@]} == 0)); then
		return 0
	fi
	if ((EUID != 0)); then
		printf 'error: missing Debian packages: %s\n' "${missing[*]}" >&2
		printf 'hint: install them with:\n' >&2
		printf 'sudo apt-get install -y %s\n' "${missing[*]}"
		exit 1
	fi
	cs_log "installing missing packages: ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get update </dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		"${missing[@]}" </dev/null
}

# ---------------------------------------------------------------- build

# cs_lock DIR: take an exclusive lock on DIR (created if missing) for the rest
# of the script, waiting if another run holds it. Two runs sharing a build
# directory would otherwise rebuild under each other and wipe each other's
# cluster.
cs_lock()
{
	local dir=$1

	mkdir -p "$dir"
	eval "exec $CS_LOCK_FD>>\"\$dir/.coopsettle.lock\""
	if ! flock -n "$CS_LOCK_FD"; then
		cs_log "waiting for another run using $dir to finish"
		flock "$CS_LOCK_FD"
	fi
}

# cs_build BUILD_DIR [CMAKE_ARGS...]: configure and build into BUILD_DIR.
cs_build()
{
	local build_dir=$1
	shift

	cs_log "configuring $build_dir"
	cmake -S "$CS_ROOT" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
	cs_log "building $build_dir"
	cmake --build "$build_dir" -j"$(nproc)"
}

# cs_use_system_python BUILD_DIR: make "python3" on PATH one that can import
# psycopg2. Debian's python3-psycopg2 is only visible to /usr/bin/python3; a
# pyenv or virtualenv python3 earlier on PATH would hide it from the tests
# (ctest runs tests/integration/*.py with whatever "python3" PATH finds).
cs_use_system_python()
{
	local bin_dir="$1/python-bin" abs_dir

	if python3 -c 'import psycopg2' >/dev/null 2>&1; then
		return 0
	fi
	if ! /usr/bin/python3 -c 'import psycopg2' >/dev/null 2>&1; then
		cs_die "python3 cannot import psycopg2 (install python3-psycopg2)"
	fi
	cs_log "$(command -v python3) lacks psycopg2: using /usr/bin/python3"
	mkdir -p "$bin_dir"
	ln -sfn /usr/bin/python3 "$bin_dir/python3"
	abs_dir="$(cd "$bin_dir" && pwd -P)"
	export PATH="$abs_dir:$PATH"
}

# ---------------------------------------------------------------- postgres

CS__PG_DATA=""    # data directory of the running cluster, "" if none
CS__PG_PID=""     # its postmaster pid
CS__PG_LOG=""     # its log file
CS__PG_STATE=""   # BUILD_DIR/pg/state: data dir and /tmp dirs in use

# cs__as_pg COMMAND...: run COMMAND as the cluster's OS user, from / (the
# caller's directory may be unreadable to that user), without the lock fd
# (200 = CS_LOCK_FD): a postmaster holding it would block every later run.
cs__as_pg()
{
	if ((EUID == 0)); then
		(cd / && exec setpriv --reuid="$CS_PG_OS_USER" --regid="$CS_PG_OS_USER" \
			--init-groups -- "$@") 200>&-
	else
		(exec "$@") 200>&-
	fi
}

# cs__pg_is_live PID: true if PID is a running (not zombie) postgres process.
cs__pg_is_live()
{
	local pid=$1 comm state

	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || [[ -d "/proc/$pid" ]] || return 1
	if [[ -r "/proc/$pid/stat" ]]; then
		comm="$(cat "/proc/$pid/comm" 2>/dev/null || true)"
		[[ "$comm" == postgres* ]] || return 1
		state="$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)"
		[[ "$state" != Z ]] || return 1
	fi
	return 0
}

# cs__pg_kill DATA_DIR LOG: stop whatever postmaster DATA_DIR's pid file
# names, politely then by force, and wait until it is gone.
cs__pg_kill()
{
	local data=$1 log=$2 pid="" cwd i

	if [[ -f "$data/postmaster.pid" ]]; then
		pid="$(head -n 1 "$data/postmaster.pid" 2>/dev/null || true)"
	fi
	cs__pg_is_live "$pid" || return 0
	# A postmaster's working directory is its data directory: if pid $pid
	# was reused by someone else's server, leave it alone.
	cwd="$(readlink "/proc/$pid/cwd" 2>/dev/null || true)"
	if [[ -n "$cwd" && "$cwd" != "$(cd "$data" 2>/dev/null && pwd -P)" ]]; then
		return 0
	fi
	cs_log "stopping stale cluster in $data (pid $pid)"
	cs__as_pg "$CS_PG_BIN/pg_ctl" stop -D "$data" -m immediate -t 20 \
		>>"$log" 2>&1 </dev/null || true
	for ((i = 0; i < 100; i++)); do
		cs__pg_is_live "$pid" || return 0
		((i != 50)) || kill -KILL "$pid" 2>/dev/null || true
		sleep 0.1
	done
	cs_die "cannot stop postgres pid $pid (data directory $data)"
}

# cs__pg_rm_tmp STATE_FILE: remove the /tmp directories STATE_FILE lists.
cs__pg_rm_tmp()
{
	local kind path

	[[ -f "$1" ]] || return 0
	while read -r kind path; do
		# Only ever delete what cs__pg_tmpdir created.
		if [[ "$kind" == tmp && "$path" == /tmp/coopsettle-pg.* && -d "$path" ]]; then
			rm -rf -- "$path"
		fi
	done <"$1"
}

# cs__pg_clean_stale PG_DIR: stop and wipe what an earlier run left behind,
# whether it exited cleanly or was killed with SIGKILL.
cs__pg_clean_stale()
{
	local pg_dir=$1 kind path

	cs__pg_kill "$pg_dir/data" "$pg_dir/log/stale.log"
	if [[ -f "$pg_dir/state" ]]; then
		while read -r kind path; do
			if [[ "$kind" == data ]]; then
				cs__pg_kill "$path" "$pg_dir/log/stale.log"
			fi
		done <"$pg_dir/state"
		cs__pg_rm_tmp "$pg_dir/state"
	fi
	rm -rf -- "$pg_dir/data" "$pg_dir/sock" "$pg_dir/state"
}

# cs__pg_ensure_user: create the system user the cluster runs as under root.
cs__pg_ensure_user()
{
	id -u "$CS_PG_OS_USER" >/dev/null 2>&1 && return 0
	cs_log "creating system user $CS_PG_OS_USER to run postgres"
	useradd --system --user-group --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin "$CS_PG_OS_USER" ||
		id -u "$CS_PG_OS_USER" >/dev/null 2>&1 # lost a race: fine
}

# cs__pg_tmpdir: print a new directory under /tmp, owned by the cluster user.
cs__pg_tmpdir()
{
	local dir

	dir="$(mktemp -d /tmp/coopsettle-pg.XXXXXX)"
	printf 'tmp %s\n' "$dir" >>"$CS__PG_STATE"
	if ((EUID == 0)); then
		chown "$CS_PG_OS_USER:" "$dir"
	fi
	printf '%s\n' "$dir"
}

# cs__pg_reachable DIR: true if the cluster user can create files in DIR.
cs__pg_reachable()
{
	local dir=$1

	((EUID == 0)) || return 0
	chown "$CS_PG_OS_USER:" "$dir" 2>/dev/null || return 1
	cs__as_pg test -w "$dir" 2>/dev/null && cs__as_pg test -x "$dir" 2>/dev/null
}

# cs__pg_wait_ready SOCK PORT SECONDS: wait until the postmaster we started
# accepts connections; false if it dies or the time runs out.
cs__pg_wait_ready()
{
	local sock=$1 port=$2 i

	for ((i = 0; i < $3 * 10; i++)); do
		if "$CS_PG_BIN/pg_isready" -q -h "$sock" -p "$port" -t 1 </dev/null; then
			return 0
		fi
		cs__pg_is_live "$CS__PG_PID" || return 1
		sleep 0.1
	done
	return 1
}

# cs_pg_start BUILD_DIR: initdb and start a private cluster under
# BUILD_DIR/pg (data/, sock/, log/), create database "coopsettle", and export
# PGHOST, PGPORT, PGUSER, PGDATABASE so libpq clients need no options. The
# user "postgres" is a superuser with trust authentication, so tests can
# create and drop further databases. The cluster is stopped at exit.
cs_pg_start()
{
	local build_dir=$1 pg_dir run_dir data sock port locale_opt

	[[ -x "$CS_PG_BIN/pg_ctl" ]] ||
		cs_die "no PostgreSQL 15 in $CS_PG_BIN (install postgresql-15)"
	if [[ -n "$CS__PG_DATA" ]]; then
		cs_die "cs_pg_start: a cluster is already running in $CS__PG_DATA"
	fi
	mkdir -p "$build_dir/pg/log"
	pg_dir="$(cd "$build_dir/pg" && pwd -P)"
	CS__PG_LOG="$pg_dir/log/postgresql.log"
	CS__PG_STATE="$pg_dir/state"
	if ((EUID == 0)); then
		cs__pg_ensure_user
	fi
	cs__pg_clean_stale "$pg_dir"
	: >"$CS__PG_LOG"
	: >"$CS__PG_STATE"
	cs_at_exit cs_pg_stop

	# Where the cluster lives: in the build directory if the cluster user
	# can get there (the build directory's parents may be root-only).
	run_dir="$pg_dir"
	if ! cs__pg_reachable "$pg_dir"; then
		run_dir="$(cs__pg_tmpdir)"
		cs_log "$CS_PG_OS_USER cannot reach $pg_dir; using $run_dir"
	fi
	data="$run_dir/data"
	printf 'data %s\n' "$data" >>"$CS__PG_STATE"

	# Socket-only, in a directory of our own, so any port number is free.
	port="${CS_PG_PORT:-$((5433 + $(printf '%s' "$pg_dir" | cksum | cut -d' ' -f1) % 1000))}"
	sock="$run_dir/sock"
	if ((${#sock} + ${#port} + 10 > CS_SOCKET_PATH_MAX)); then
		sock="$(cs__pg_tmpdir)"
	else
		mkdir -p "$sock"
		if ((EUID == 0)); then
			chown "$CS_PG_OS_USER:" "$sock"
		fi
	fi

	if locale -a 2>/dev/null | grep -qixE 'c\.utf-?8'; then
		locale_opt=--locale=C.UTF-8
	else
		locale_opt=--no-locale
	fi
	cs_log "initdb $data"
	if ! cs__as_pg "$CS_PG_BIN/initdb" -D "$data" -A trust -U postgres \
		--encoding=UTF8 "$locale_opt" >"$pg_dir/log/initdb.log" 2>&1 </dev/null; then
		tail -n 30 "$pg_dir/log/initdb.log" >&2
		cs_die "initdb failed (full output in $pg_dir/log/initdb.log)"
	fi
	{
		printf '\n# coopsettle private test cluster (scripts/lib/common.sh)\n'
		printf "listen_addresses = ''\n"
		printf 'port = %s\n' "$port"
		printf "unix_socket_directories = '%s'\n" "${sock//\'/\'\'}"
	} >>"$data/postgresql.conf"

	# We start the postmaster ourselves rather than with "pg_ctl start":
	# pg_ctl leaves it orphaned, and where PID 1 does not reap orphans (some
	# containers) a stopped server then lingers as a zombie. As our child we
	# reap it in cs_pg_stop. setsid keeps a terminal's ^C away from it: the
	# exit trap stops it in order. It inherits stdout/stderr, so the log can
	# sit in a directory the cluster user cannot reach.
	cs_log "starting postgres (socket $sock, port $port, log $CS__PG_LOG)"
	CS__PG_DATA="$data"
	(
		cd /
		if ((EUID == 0)); then
			exec setpriv --reuid="$CS_PG_OS_USER" --regid="$CS_PG_OS_USER" \
				--init-groups -- setsid "$CS_PG_BIN/postgres" -D "$data"
		fi
		exec setsid "$CS_PG_BIN/postgres" -D "$data"
	) >>"$CS__PG_LOG" 2>&1 </dev/null 200>&- &
	CS__PG_PID=$! # the subshell execs, so this is the postmaster
	if ! cs__pg_wait_ready "$sock" "$port" 60; then
		printf -- '--- last lines of %s ---\n' "$CS__PG_LOG" >&2
		tail -n 40 "$CS__PG_LOG" >&2
		cs_die "postgres failed to start"
	fi

	export PGHOST="$sock" PGPORT="$port" PGUSER=postgres PGDATABASE=coopsettle
	unset PGHOSTADDR PGSERVICE PGSERVICEFILE PGPASSWORD PGOPTIONS PGSSLMODE
	# For tests that want the raw binaries or to look at the server.
	export CS_PG_BIN CS_PG_DATA="$data" CS_PG_LOG="$CS__PG_LOG"
	export PATH="$CS_PG_BIN:$PATH"

	"$CS_PG_BIN/createdb" coopsettle </dev/null ||
		cs_die "cannot create database coopsettle (log: $CS__PG_LOG)"
	cs_log "postgres ready: PGHOST=$PGHOST PGPORT=$PGPORT PGUSER=$PGUSER PGDATABASE=$PGDATABASE"
}

# cs_pg_stop: stop the cluster cs_pg_start started, leave no process behind,
# remove any /tmp directories. Quiet on success; safe to call twice.
cs_pg_stop()
{
	local data=$CS__PG_DATA i

	[[ -n "$data" ]] || return 0
	CS__PG_DATA=""
	if [[ -f "$data/postmaster.pid" ]]; then
		cs__as_pg "$CS_PG_BIN/pg_ctl" stop -D "$data" -m fast -t 30 \
			>>"$CS__PG_LOG" 2>&1 </dev/null ||
			cs__as_pg "$CS_PG_BIN/pg_ctl" stop -D "$data" -m immediate -t 30 \
				>>"$CS__PG_LOG" 2>&1 </dev/null || true
	fi
	for ((i = 0; i < 100; i++)); do
		cs__pg_is_live "$CS__PG_PID" || break
		((i != 50)) || kill -KILL "$CS__PG_PID" 2>/dev/null || true
		sleep 0.1
	done
	if cs__pg_is_live "$CS__PG_PID"; then
		printf 'error: postgres pid %s did not stop\n' "$CS__PG_PID" >&2
		return 0 # keep the state file so the next run retries
	fi
	wait "$CS__PG_PID" 2>/dev/null || true # reap it: no zombie either
	cs__pg_rm_tmp "$CS__PG_STATE"
	rm -f -- "$CS__PG_STATE"
}

# ---------------------------------------------------------------- crash-test servers

# Tests that stop a server in immediate mode (tests/integration/
# test_crash_server.py) run a cluster of their own: the shared one serves
# other tests at the same time (ctest -j). They run the PostgreSQL binaries
# through these, as the cluster user exactly as cs_pg_start does:
#   bash -c 'source scripts/lib/common.sh && cs_pg_cmd initdb -D DIR ...'

# cs_pg_cmd PROGRAM ARGS...: run $CS_PG_BIN/PROGRAM (initdb, pg_ctl, ...) as
# the cluster user, from /.
cs_pg_cmd()
{
	local prog=$1
	shift
	cs__as_pg "$CS_PG_BIN/$prog" "$@"
}

# cs_pg_exec_server DATA_DIR: replace this shell with a postmaster for
# DATA_DIR, started as cs_pg_start starts it (cluster user, own session, from
# /, no lock fd), so the caller is its parent and reaps it when it stops.
cs_pg_exec_server()
{
	local data=$1

	cd /
	if ((EUID == 0)); then
		exec setpriv --reuid="$CS_PG_OS_USER" --regid="$CS_PG_OS_USER" \
			--init-groups -- setsid "$CS_PG_BIN/postgres" -D "$data" 200>&-
	fi
	exec setsid "$CS_PG_BIN/postgres" -D "$data" 200>&-
}

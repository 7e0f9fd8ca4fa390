# shellcheck shell=bash
# citus.sh -- build Citus once and run a throw-away Citus cluster (a
# coordinator and two workers, plus a plain PostgreSQL beside them) for
# scripts/test-citus.sh and scripts/bench.sh --citus (docs/scale-out.md).
#
# Sourced after scripts/lib/common.sh, whose traps stop what is started here.
# Citus 13.2.2's source comes from CS_CITUS_SRC (default ../shared/citus next
# to the checkout: the tarball and a patch for PostgreSQL 15.20, see its
# README). The build is cached in BUILD_DIR/citus and made once per source;
# the extension is installed into PostgreSQL's own directories (the only
# place PostgreSQL 15 looks for extensions), which needs root unless those
# directories are writable.

CS_CITUS_SRC="${CS_CITUS_SRC:-$CS_ROOT/../shared/citus}"
CS_CITUS_TARBALL="citus-13.2.2-src.tar.gz"
# Debian packages the Citus build needs (../shared/citus/README.md);
# scripts/test.sh installs them.
# shellcheck disable=SC2034
CS_CITUS_DEPS="postgresql-server-dev-15 libcurl4-openssl-dev liblz4-dev libzstd-dev libkrb5-dev"

CS__CITUS_DIR=""   # the cluster's directory (data dirs, sockets, logs)
CS__CITUS_PIDS=()  # postmaster pids
CS__CITUS_DATAS=() # their data directories
CS_CITUS_SOCK=""   # the one socket directory of all four instances
# ports: coordinator, worker 1, worker 2, plain PostgreSQL (the socket
# directory is private and there is no TCP, so fixed numbers are safe)
CS_CITUS_PORTS=(5432 5433 5434 5435)

# cs_citus_available: true when the Citus source is there; else prints why not.
cs_citus_available()
{
	if [[ ! -f "$CS_CITUS_SRC/$CS_CITUS_TARBALL" ]]; then
		printf 'no Citus source at %s (%s)\n' "$CS_CITUS_SRC" "$CS_CITUS_TARBALL"
		return 1
	fi
	return 0
}

# cs_citus_build BUILD_DIR: unpack, patch and build Citus in BUILD_DIR/citus
# once per source (a stamp names the tarball's and the patch's SHA-256), then
# install it into PostgreSQL 15 unless the installed citus.so is that build.
# Returns 1 (with the reason on stderr) when it cannot be installed.
cs_citus_build()
{
	local dir="$1/citus" stamp src pkglib
	local pg_config="$CS_PG_BIN/pg_config"

	[[ -x "$pg_config" ]] || pg_config="$(command -v pg_config || true)"
	if [[ -z "$pg_config" ]] || ! "$pg_config" --pgxs >/dev/null 2>&1 ||
		[[ ! -f "$("$pg_config" --pgxs)" ]]; then
		cs_log "no PGXS (install postgresql-server-dev-15): cannot build Citus"
		return 1
	fi
	mkdir -p "$dir"
	stamp="$(cat "$CS_CITUS_SRC/$CS_CITUS_TARBALL" "$CS_CITUS_SRC"/*.patch | sha256sum | cut -c1-16)"
	src="$dir/citus-13.2.2"
	if [[ ! -f "$dir/built-$stamp" ]]; then
		cs_log "building Citus in $dir (once; log $dir/build.log)"
		rm -rf -- "$src" "$dir"/built-*
		tar xzf "$CS_CITUS_SRC/$CS_CITUS_TARBALL" -C "$dir"
		local p
		for p in "$CS_CITUS_SRC"/*.patch; do
			patch -s -p1 -d "$src" <"$p"
		done
		# with_llvm=no: no LLVM bitcode for JIT inlining, half the build time
		if ! (cd "$src" && PG_CONFIG="$pg_config" ./configure --with-pg-config="$pg_config" &&
			make -j"$(nproc)" with_llvm=no) >"$dir/build.log" 2>&1; then
			tail -n 30 "$dir/build.log" >&2
			cs_log "the Citus build failed (log $dir/build.log)"
			return 1
		fi
		touch "$dir/built-$stamp"
	fi
	pkglib="$("$pg_config" --pkglibdir)"
	if ! cmp -s "$src/src/backend/distributed/citus.so" "$pkglib/citus.so"; then
		if [[ ! -w "$pkglib" ]]; then
			cs_log "cannot install Citus into $pkglib: run once as root"
			return 1
		fi
		cs_log "installing Citus into $pkglib"
		(cd "$src" && make install with_llvm=no) >>"$dir/build.log" 2>&1 || {
			tail -n 30 "$dir/build.log" >&2
			return 1
		}
	fi
	return 0
}

# cs__citus_start_one INDEX NAME CONF_LINES: initdb and start one instance.
cs__citus_start_one()
{
	local i=$1 name=$2 conf=$3 data="$CS__CITUS_DIR/$2" port=${CS_CITUS_PORTS[$1]} k

	if ! cs__as_pg "$CS_PG_BIN/initdb" -D "$data" -A trust -U postgres --encoding=UTF8 \
		--no-locale >"$CS__CITUS_DIR/log/initdb-$name.log" 2>&1 </dev/null; then
		tail -n 20 "$CS__CITUS_DIR/log/initdb-$name.log" >&2
		cs_die "initdb $name failed"
	fi
	{
		printf "listen_addresses = ''\nport = %s\nunix_socket_directories = '%s'\n" \
			"$port" "$CS_CITUS_SOCK"
		# a throw-away test cluster: no durability needed, speed wanted
		# (CS_CITUS_DURABLE=1, for scripts/bench.sh: initdb's settings)
		if [[ -z "${CS_CITUS_DURABLE:-}" ]]; then
			printf 'fsync = off\nfull_page_writes = off\nsynchronous_commit = off\n'
		fi
		# wal_level logical: Citus moves a schema online by logical
		# replication (docs/scale-out.md); the plain server gets it too, so
		# that scripts/bench.sh --citus compares like with like
		printf 'max_connections = 200\nshared_buffers = 128MB\nwal_level = logical\n'
		printf '%s\n' "$conf"
	} >>"$data/postgresql.conf"
	(
		cd /
		if ((EUID == 0)); then
			exec setpriv --reuid="$CS_PG_OS_USER" --regid="$CS_PG_OS_USER" \
				--init-groups -- setsid "$CS_PG_BIN/postgres" -D "$data"
		fi
		exec setsid "$CS_PG_BIN/postgres" -D "$data"
	) >>"$CS__CITUS_DIR/log/$name.log" 2>&1 </dev/null 200>&- &
	CS__CITUS_PIDS[i]=$!
	CS__CITUS_DATAS[i]=$data
	for ((k = 0; k < 600; k++)); do
		"$CS_PG_BIN/pg_isready" -q -h "$CS_CITUS_SOCK" -p "$port" -t 1 </dev/null && return 0
		kill -0 "${CS__CITUS_PIDS[i]}" 2>/dev/null || break
		sleep 0.1
	done
	tail -n 30 "$CS__CITUS_DIR/log/$name.log" >&2
	cs_die "postgres $name failed to start"
}

# cs_citus_psql INDEX SQL...: psql -X -q -At -v ON_ERROR_STOP=1 on instance
# INDEX, database coops (or $CS_CITUS_DB), as postgres.
cs_citus_psql()
{
	local i=$1
	shift
	"$CS_PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$CS_CITUS_SOCK" \
		-p "${CS_CITUS_PORTS[$i]}" -U postgres -d "${CS_CITUS_DB:-coops}" "$@"
}

# cs_citus_conninfo INDEX [USER]: the conninfo of instance INDEX, database coops.
cs_citus_conninfo()
{
	printf 'host=%s port=%s dbname=coops user=%s' "$CS_CITUS_SOCK" \
		"${CS_CITUS_PORTS[$1]}" "${2:-postgres}"
}

# cs_citus_start: a coordinator (0) and two workers (1, 2) with Citus and
# schema-based sharding, and a plain PostgreSQL (3), each with a database
# coops, on Unix sockets only, as the cluster user. Stopped at exit.
cs_citus_start()
{
	local i citus_conf

	((EUID != 0)) || cs__pg_ensure_user
	CS__CITUS_DIR="$(mktemp -d /tmp/coopsettle-citus.XXXXXX)"
	mkdir -p "$CS__CITUS_DIR/log" "$CS__CITUS_DIR/sock"
	CS_CITUS_SOCK="$CS__CITUS_DIR/sock"
	if ((EUID == 0)); then
		chown -R "$CS_PG_OS_USER:" "$CS__CITUS_DIR"
	fi
	cs_at_exit cs_citus_stop
	# citus.local_hostname: how a node reaches itself (shard moves), here
	# the socket directory, as there is no TCP
	citus_conf="shared_preload_libraries = 'citus'
max_prepared_transactions = 100
citus.node_conninfo = 'sslmode=disable'
citus.local_hostname = '$CS_CITUS_SOCK'"
	cs_log "starting a Citus coordinator, two workers and a plain PostgreSQL in $CS__CITUS_DIR"
	cs__citus_start_one 0 coordinator "$citus_conf"
	cs__citus_start_one 1 worker1 "$citus_conf"
	cs__citus_start_one 2 worker2 "$citus_conf"
	cs__citus_start_one 3 plain ""
	for i in 0 1 2 3; do
		CS_CITUS_DB=postgres cs_citus_psql "$i" -c "CREATE DATABASE coops" </dev/null
	done
	for i in 0 1 2; do
		cs_citus_psql "$i" -c "CREATE EXTENSION citus" </dev/null
	done
	cs_citus_psql 0 >/dev/null <<-SQL
		SELECT citus_set_coordinator_host('$CS_CITUS_SOCK', ${CS_CITUS_PORTS[0]});
		SELECT citus_add_node('$CS_CITUS_SOCK', ${CS_CITUS_PORTS[1]});
		SELECT citus_add_node('$CS_CITUS_SOCK', ${CS_CITUS_PORTS[2]});
		ALTER DATABASE coops SET citus.enable_schema_based_sharding = on;
	SQL
	cs_log "Citus ready: coordinator $CS_CITUS_SOCK:${CS_CITUS_PORTS[0]}, workers :${CS_CITUS_PORTS[1]} :${CS_CITUS_PORTS[2]}, plain :${CS_CITUS_PORTS[3]}"
}

# cs_citus_stop_node INDEX [MODE]: stop one instance (default mode fast).
cs_citus_stop_node()
{
	local i=$1 k
	cs__as_pg "$CS_PG_BIN/pg_ctl" stop -D "${CS__CITUS_DATAS[i]}" -m "${2:-fast}" -t 60 \
		>>"$CS__CITUS_DIR/log/pg_ctl.log" 2>&1 </dev/null || true
	for ((k = 0; k < 100; k++)); do
		cs__pg_is_live "${CS__CITUS_PIDS[i]}" || break
		((k != 50)) || kill -KILL "${CS__CITUS_PIDS[i]}" 2>/dev/null || true
		sleep 0.1
	done
	wait "${CS__CITUS_PIDS[i]}" 2>/dev/null || true
}

# cs_citus_restart_node INDEX: start a stopped instance again.
cs_citus_restart_node()
{
	local i=$1 data=${CS__CITUS_DATAS[$1]} k name
	name="$(basename "$data")"
	(
		cd /
		if ((EUID == 0)); then
			exec setpriv --reuid="$CS_PG_OS_USER" --regid="$CS_PG_OS_USER" \
				--init-groups -- setsid "$CS_PG_BIN/postgres" -D "$data"
		fi
		exec setsid "$CS_PG_BIN/postgres" -D "$data"
	) >>"$CS__CITUS_DIR/log/$name.log" 2>&1 </dev/null 200>&- &
	CS__CITUS_PIDS[i]=$!
	for ((k = 0; k < 600; k++)); do
		"$CS_PG_BIN/pg_isready" -q -h "$CS_CITUS_SOCK" -p "${CS_CITUS_PORTS[i]}" -t 1 \
			</dev/null && return 0
		sleep 0.1
	done
	cs_die "postgres $name did not start again"
}

# cs_citus_stop: stop every instance and remove the cluster's directory.
cs_citus_stop()
{
	local i
	[[ -n "$CS__CITUS_DIR" ]] || return 0
	for i in "${!CS__CITUS_DATAS[@]}"; do
		cs_citus_stop_node "$i" fast
	done
	if [[ "$CS__CITUS_DIR" == /tmp/coopsettle-citus.* && -z "${CS_CITUS_KEEP:-}" ]]; then
		rm -rf -- "$CS__CITUS_DIR"
	fi
	CS__CITUS_DIR=""
}

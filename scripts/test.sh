#!/usr/bin/env bash
# test.sh -- build coopsettle and run every ctest against a private cluster.
#
# usage: scripts/test.sh [--sanitize] [ctest args...]
# CS_BUILD_DIR overrides the build directory (default build/, build-asan/).
#
# Builds into build/ (or build-asan/ with AddressSanitizer and UBSan when
# --sanitize is given), starts a throw-away PostgreSQL 15 cluster under
# BUILD/pg, runs ctest, stops the cluster; then, in the plain run without
# ctest arguments and when ../shared/citus (CS_CITUS_SRC) holds the Citus
# source, scripts/test-citus.sh (docs/scale-out.md). Exits 0 when all passed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib/common.sh
source scripts/lib/common.sh
cd "$CS_ROOT"

build_dir=${CS_BUILD_DIR:-build}
cmake_args=()
sanitize=0
# Seconds ctest fuzzes each libFuzzer target (tests fuzz.run.*, scripts/fuzz.sh,
# docs/fuzzing.md): only in the --sanitize run, so CI fuzzes once, not twice.
fuzz_seconds=0
case "${1:-}" in
--sanitize)
	shift
	sanitize=1
	build_dir=${CS_BUILD_DIR:-build-asan}
	fuzz_seconds=${CS_FUZZ_SECONDS:-60}
	# shellcheck disable=SC2054 # one CMake value, commas and all
	cmake_args+=(-DSANITIZE=address,undefined)
	;;
-h | --help)
	sed -n '2,8s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
	exit 0
	;;
esac

cs_install_deps
# The Citus tests run in the plain run only (CI runs this script twice), and
# need the Debian packages of the Citus build, installed before any cluster
# starts (a newer postgresql-server-dev-15 may update PostgreSQL itself).
# shellcheck source=scripts/lib/citus.sh
source scripts/lib/citus.sh
citus=0
if ((sanitize)); then
	citus_skip="they run in the plain run (scripts/test.sh without --sanitize)"
elif (($# > 0)); then
	citus_skip="ctest arguments were given"
elif ! citus_skip="$(cs_citus_available)"; then
	:
else
	citus=1
	cs_install_deps "$CS_CITUS_DEPS"
fi
cs_lock "$build_dir"
cs_log "checking the layers (scripts/check-layers.sh)"
scripts/check-layers.sh
cmake_args+=(-DBUILD_TESTING=ON)
cs_build "$build_dir" "${cmake_args[@]}" -DCS_FUZZ_SECONDS="$fuzz_seconds"
# A second build with the named fail points (include/coopsettle/failpoint.h)
# for the crash and lost-connection tests; never installed.
cs_build "${build_dir}-fp" "${cmake_args[@]}" -DCS_FAILPOINTS=ON -DBUILD_TESTING=OFF
CS_BINARY_FP="$(cd "${build_dir}-fp" && pwd -P)/coopsettle"
export CS_BINARY_FP
if ((sanitize)); then
	export CS_SANITIZE=1 # slow tests run fewer trials
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
cs_use_system_python "$build_dir"
cs_pg_start "$build_dir"

cs_log "running ctest in $build_dir"
rc=0
ctest --test-dir "$build_dir" --output-on-failure -j2 "$@" || rc=$?
if ((citus)); then
	cs_log "running the Citus tests (scripts/test-citus.sh)"
	bash scripts/test-citus.sh "$build_dir" || rc=$((rc ? rc : 1))
else
	cs_log "skipping the Citus tests: $citus_skip"
fi
exit "$rc" # the exit trap stops the cluster, quietly

#!/usr/bin/env bash
# fuzz.sh -- build a libFuzzer target with clang and run it for a while.
#
# usage: scripts/fuzz.sh TARGET SECONDS [LIBFUZZER_ARGS...]
#   TARGET is config (cs_config_load_buffer), number (the number grammar
#   and rounding) or engine (a config, then the settle and surplus cores on
#   rows made from it); SECONDS > 0. CS_FUZZ_BUILD_DIR overrides the build
#   directory (default build-fuzz/).
#
# Builds build-fuzz/ with clang, -fsanitize=fuzzer,address,undefined, then
# fuzzes TARGET from its seeds and kept regressions (tests/fuzz/) into a
# working corpus under build-fuzz/corpus/TARGET. Exits 0 when nothing was
# found; else 1, with the crashing input under build-fuzz/artifacts/TARGET/:
# fix the bug and keep the input in tests/fuzz/regressions/TARGET/ (ctest
# replays it in every build). See docs/fuzzing.md.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib/common.sh
source scripts/lib/common.sh
cd "$CS_ROOT"

usage()
{
	sed -n '2,15s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

case "${1:-}" in
-h | --help)
	usage
	exit 0
	;;
config | number | engine) ;;
*)
	usage >&2
	exit 2
	;;
esac
target=$1
seconds=${2:-}
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || ((seconds == 0)); then
	usage >&2
	exit 2
fi
shift 2

build_dir=${CS_FUZZ_BUILD_DIR:-build-fuzz}
fuzz_dir="$CS_ROOT/tests/fuzz"
case "$target" in
config)
	inputs=("$fuzz_dir/seeds/config" "$fuzz_dir/regressions/config"
		"$CS_ROOT/config" "$CS_ROOT/tests/config/good" "$CS_ROOT/tests/config/bad")
	max_len=16384 # the largest seed is a few kilobytes
	dict=config
	;;
engine)
	inputs=("$fuzz_dir/seeds/engine" "$fuzz_dir/regressions/engine" "$CS_ROOT/config"
		"$CS_ROOT/tests/config/good")
	max_len=16384
	dict=config # the input is a config
	;;
number)
	inputs=("$fuzz_dir/seeds/number" "$fuzz_dir/regressions/number")
	max_len=256 # 30 digits and a rate fit many times over
	dict=number
	;;
esac

cs_install_deps
mkdir -p "$build_dir"
# Several runs may share build-fuzz (ctest runs fuzz.run.config and
# fuzz.run.number, a developer may fuzz at the same time): one builds at a
# time. Running binaries are not disturbed, the linker writes a new file.
(
	flock 9
	cs_log "configuring $build_dir (clang, libFuzzer, ASan, UBSan)"
	cmake -S "$CS_ROOT" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_C_COMPILER=clang -DBUILD_TESTING=ON -DCS_FUZZ=ON \
		-DSANITIZE=fuzzer-no-link,address,undefined >/dev/null
	cs_log "building fuzz_$target"
	cmake --build "$build_dir" -j"$(nproc)" --target "fuzz_$target" >/dev/null
) 9>>"$build_dir/.fuzz-build.lock"

corpus="$build_dir/corpus/$target"
artifacts="$build_dir/artifacts/$target"
mkdir -p "$corpus" "$artifacts"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1:halt_on_error=1"

cs_log "fuzzing $target for $seconds s (corpus $corpus)"
start=$(date +%s)
rc=0
log="$build_dir/fuzz-$target.log"
stamp="$build_dir/.fuzz-$target.start"
: >"$stamp"
"$build_dir/tests/fuzz_$target" -max_total_time="$seconds" -max_len="$max_len" \
	-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-dict="$fuzz_dir/$dict.dict" -artifact_prefix="$artifacts/" \
	"$@" "$corpus" "${inputs[@]}" 2>&1 | tee "$log" | grep -v -E '^#[0-9]+\s+(NEW|REDUCE|pulse)' ||
	rc=${PIPESTATUS[0]}
end=$(date +%s)

execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
files="$(find "$corpus" -type f | wc -l)"
found="$(find "$artifacts" -type f -newer "$stamp" 2>/dev/null | wc -l)"
printf 'fuzz %s: %s executions in %d s, working corpus %d files, %d new artifacts, exit %d\n' \
	"$target" "${execs:-?}" "$((end - start))" "$files" "$found" "$rc"
if ((rc != 0)); then
	printf 'error: fuzz_%s found a bug; the input is in %s/\n' "$target" "$artifacts" >&2
	printf 'hint: fix it, then keep the input: cp %s/<file> tests/fuzz/regressions/%s/\n' \
		"$artifacts" "$target" >&2
	exit 1
fi

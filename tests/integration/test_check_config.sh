#!/usr/bin/env bash
# test_check_config.sh -- `coopsettle check-config` on the shipped configs
# (config/*.yaml) and the good fixtures (tests/config/good/*.yaml): exit 0;
# and on every broken fixture in tests/config/bad/ (exit 2, with
# FILE:LINE:COL: from the fixture's `# expect:` comments and a caret line on
# stderr). Needs no database.
#
# Environment: CS_BINARY (the coopsettle executable), CS_SOURCE_DIR (repo root).
set -u

: "${CS_BINARY:?CS_BINARY must name the coopsettle executable}"
: "${CS_SOURCE_DIR:?CS_SOURCE_DIR must name the repository root}"

passed=0
failed=0
err_file=$(mktemp)
trap 'rm -f "$err_file"' EXIT

fail() {
	echo "FAIL: $*"
	failed=$((failed + 1))
}

for good in "$CS_SOURCE_DIR"/config/*.yaml "$CS_SOURCE_DIR"/tests/config/good/*.yaml; do
	case "$good" in
	*/config/accounts-*.yaml) continue ;; # export account maps, not configs (test_exports_period)
	esac
	"$CS_BINARY" check-config "$good" >/dev/null 2>"$err_file"
	rc=$?
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
	else
		fail "$good: exit $rc, want 0"
		sed 's/^/    /' "$err_file"
	fi
done

shopt -s nullglob
bad_files=("$CS_SOURCE_DIR"/tests/config/bad/*.yaml)
if [ "${#bad_files[@]}" -lt 30 ]; then
	fail "only ${#bad_files[@]} fixtures in tests/config/bad (want at least 30)"
fi

for bad in "${bad_files[@]}"; do
	"$CS_BINARY" check-config "$bad" >/dev/null 2>"$err_file"
	rc=$?
	ok=1
	if [ "$rc" -ne 2 ]; then
		fail "$bad: exit $rc, want 2"
		ok=0
	fi
	expects=0
	# every leading `# expect: LINE:COL message` (or `# expect: LINE:`) line
	while IFS= read -r line; do
		case "$line" in
		"# expect: "*) ;;
		*) break ;;
		esac
		spec=${line#"# expect: "}
		pos=${spec%% *}          # LINE:COL or LINE:
		pos=${pos%:}             # LINE:COL or LINE
		expects=$((expects + 1))
		if ! grep -qF -- "$bad:$pos:" "$err_file"; then
			fail "$bad: stderr lacks '$bad:$pos:'"
			ok=0
		fi
	done <"$bad"
	if [ "$expects" -eq 0 ]; then
		fail "$bad: no '# expect: LINE:COL message' comment on its first line"
		ok=0
	fi
	if ! grep -qE '^[[:space:]]*\^$' "$err_file"; then
		fail "$bad: stderr has no caret line under the error"
		ok=0
	fi
	if [ "$ok" -eq 1 ]; then
		passed=$((passed + 1))
	else
		sed 's/^/    /' "$err_file" | head -20
	fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# test_banned.sh -- the tree passes scripts/check-banned.sh, and the checker
# still catches what it is meant to catch (a checker that passes everything
# would otherwise go unnoticed).
set -uo pipefail

root="${CS_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)}"
checker="$root/scripts/check-banned.sh"
passed=0
failed=0

pass() { printf 'ok: %s\n' "$1"; passed=$((passed + 1)); }
fail() { printf 'FAIL: %s\n' "$1"; failed=$((failed + 1)); }

# 1. The real tree.
if bash "$checker" "$root"; then
	pass "src/ and include/ use no banned function or type"
else
	fail "src/ and include/ use banned functions or types (listed above)"
fi

# 2. A planted tree: the checker must flag code and spare comments, strings
# and look-alike names.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src" "$tmp/include"
cat >"$tmp/src/planted.c" <<'C'
/* sprintf and strcpy are banned; a double in a comment is fine */
static const char *s = "atoi(\"x\") float";
static int f(char *d, const char *p)
{
	char c = '"'; // strcat here too is fine
	snprintf(d, 4, "%s", p);
	sprintf(d, "%s", p);
	return atoi(p) + c;
}
static double g;
int my_strcpy(void);
C
expected="src/planted.c:7: banned function sprintf
src/planted.c:8: banned function atoi
src/planted.c:10: banned type double"
actual="$(bash "$checker" "$tmp")"
rc=$?
if [[ $rc -eq 1 && "$actual" == "$expected" ]]; then
	pass "checker flags planted uses and nothing else"
else
	fail "checker on planted file: exit $rc, output:"
	printf '%s\n' "$actual" | sed 's/^/    /'
	printf '  expected:\n%s\n' "$expected" | sed '2,$s/^/    /'
fi

printf '%d passed, %d failed\n' "$passed" "$failed"
((failed == 0))

#!/usr/bin/env bash
# test_layers.sh -- the tree passes scripts/check-layers.sh, and the checker
# still refuses each kind of crossing it is meant to refuse (a checker that
# passes everything would otherwise go unnoticed).
set -uo pipefail

root="${CS_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)}"
passed=0
failed=0

pass() { printf 'ok: %s\n' "$1"; passed=$((passed + 1)); }
fail() { printf 'FAIL: %s\n' "$1"; failed=$((failed + 1)); }

# 1. The real tree.
if bash "$root/scripts/check-layers.sh" "$root"; then
	pass "every include of src/ and include/ respects the layers"
else
	fail "the tree crosses a layer boundary (listed above)"
fi

# 2. A copy of the tree with one bad include of each kind planted.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cp -r "$root/src" "$root/include" "$tmp/"
mkdir -p "$tmp/scripts" && cp "$root/scripts/check-layers.sh" "$tmp/scripts/"
plant() # FILE TEXT: insert TEXT as the file's first line
{
	printf '%s\n' "$2" | cat - "$tmp/$1" >"$tmp/$1.new" && mv "$tmp/$1.new" "$tmp/$1"
}
plant src/core/fee.c '#include "coopsettle/db.h"'
plant src/core/alloc.c '#include <libpq-fe.h>'
plant src/core/num.c '#include "coopsettle/config_load.h"'
plant src/core/window.c '#include "coopsettle/run.h"'
plant src/store/source.c '#include "coopsettle/tools.h"'
plant src/audit/export.c '#include <yaml.h>'
plant src/runs/runcommon.c '#include "coopsettle/verify.h"'
plant src/base/buf.c '#include <openssl/evp.h>'
plant src/audit/verify.c '#include "../config/parse.h"'
printf 'int x;\n' >"$tmp/src/flat.c"
expected="src/audit/export.c:1: includes <yaml.h>: only the YAML reader (src/config/reader.c) may
src/audit/verify.c:1: includes the config loader's private parse.h: only src/config/ may
src/base/buf.c:1: includes <openssl/evp.h>: only src/base/hash.c may (use coopsettle/hash.h)
src/core/alloc.c:1: includes <libpq-fe.h>: only the libpq edge (src/store/db.c) may
src/core/fee.c:1: includes coopsettle/db.h (store): the core part may not include the store part
src/core/num.c:1: includes coopsettle/config_load.h (config): the core may use the config model (config.h), not its loader
src/core/window.c:1: includes coopsettle/run.h (runs): the core part may not include the runs part
src/flat.c:1: lies directly in src/: put it in the folder of its part (base core config store runs audit cli)
src/runs/runcommon.c:1: includes coopsettle/verify.h (audit): the runs part may not include the audit part
src/store/source.c:1: includes coopsettle/tools.h (cli): the store part may not include the cli part"
actual="$(bash "$tmp/scripts/check-layers.sh" "$tmp" 2>&1 | grep -v '^check-layers:' | LC_ALL=C sort)"
bash "$tmp/scripts/check-layers.sh" "$tmp" >/dev/null 2>&1
rc=$?
if [[ $rc -eq 1 && "$actual" == "$expected" ]]; then
	pass "checker names each planted crossing, its file and line, and nothing else"
else
	fail "checker on the planted tree: exit $rc, output:"
	printf '%s\n' "$actual" | sed 's/^/    /'
	printf '  expected:\n%s\n' "$expected" | sed '2,$s/^/    /'
fi

printf '%d passed, %d failed\n' "$passed" "$failed"
((failed == 0))

#!/usr/bin/env bash
# test_install.sh -- `cmake --install` of the build under test into a
# throw-away prefix puts every file in place; the installed man page renders
# without warnings and covers every command, option and exit code that the
# --help texts print; the installed systemd units name the installed binary.
#
# Needs man-db and groff-base (in CS_DEPS, scripts/lib/common.sh): this test
# installs nothing itself.
set -uo pipefail

root="${CS_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)}"
binary="${CS_BINARY:?CS_BINARY must name the coopsettle binary under test}"
passed=0
failed=0

pass() { printf 'ok: %s\n' "$1"; passed=$((passed + 1)); }
fail() { printf 'FAIL: %s\n' "$1"; failed=$((failed + 1)); }
# indent FILE: show FILE's lines under a failure
indent() { sed 's/^/    /' "$1"; }

# The build directory is the nearest directory above the binary with a
# CMakeCache.txt.
build="$(cd "$(dirname "$binary")" && pwd -P)"
while [[ "$build" != / && ! -f "$build/CMakeCache.txt" ]]; do
	build="$(dirname "$build")"
done
if [[ ! -f "$build/CMakeCache.txt" ]]; then
	fail "no CMakeCache.txt above $binary: cannot find its build directory"
	printf '%d passed, %d failed\n' "$passed" "$failed"
	exit 1
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
prefix="$tmp/prefix"

# 1. The install itself.
if cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1; then
	pass "cmake --install $build --prefix PREFIX"
else
	fail "cmake --install failed:"
	indent "$tmp/install.log"
	printf '%d passed, %d failed\n' "$passed" "$failed"
	exit 1
fi

# 2. Every file in its place.
page="$prefix/share/man/man1/coopsettle.1"
docdir="$prefix/share/doc/coopsettle"
unitdir="$prefix/lib/systemd/system"
expected=("$prefix/bin/coopsettle" "$page" "$docdir/README.md"
	"$unitdir/coopsettle-settle.service" "$unitdir/coopsettle-settle.timer")
for f in "$root"/docs/*.md "$root"/config/*.yaml; do
	expected+=("$docdir/$(basename "$f")")
done
missing=0
for f in "${expected[@]}"; do
	if [[ ! -f "$f" ]]; then
		fail "not installed: ${f#"$prefix"/}"
		missing=1
	fi
done
if ((!missing)); then
	pass "installed: bin/coopsettle, the man page, README.md, docs/*.md, config/*.yaml, the units"
fi
if [[ -x "$prefix/bin/coopsettle" ]] &&
	[[ "$("$prefix/bin/coopsettle" --version)" == "$("$binary" --version)" ]]; then
	pass "the installed binary runs and has the version of the one under test"
else
	fail "the installed binary does not run or differs from $binary"
fi
# cmake --install writes the installed binary's path into ExecStart=; the
# nightly sequence is settle --period yesterday, then status.
if grep -q "^ExecStart=$prefix/bin/coopsettle settle .*--period yesterday" \
	"$unitdir/coopsettle-settle.service" 2>/dev/null &&
	grep -q "^ExecStart=$prefix/bin/coopsettle status " \
		"$unitdir/coopsettle-settle.service" 2>/dev/null; then
	pass "the installed service runs the installed binary: settle --period yesterday, status"
else
	fail "ExecStart= of the installed service does not name $prefix/bin/coopsettle:"
	grep '^ExecStart=' "$unitdir/coopsettle-settle.service" | sed 's/^/    /'
fi
if grep -Eq '^SuccessExitStatus=.*\b[45]\b' "$unitdir/coopsettle-settle.service" 2>/dev/null; then
	fail "the service treats exit 4 or 5 as success: they must fail the unit"
else
	pass "exit 4 and 5 fail the service"
fi
if command -v systemd-analyze >/dev/null 2>&1; then
	# Documentation=man:coopsettle(1) is checked: let man find the page.
	if MANPATH="$prefix/share/man" systemd-analyze verify \
		"$unitdir/coopsettle-settle.service" "$unitdir/coopsettle-settle.timer" \
		>"$tmp/verify.log" 2>&1; then
		pass "systemd-analyze verify accepts the installed units"
	else
		fail "systemd-analyze verify:"
		indent "$tmp/verify.log"
	fi
else
	printf 'skip: systemd-analyze not found, units not verified\n'
fi

# 3. The page renders without a warning.
if ! command -v man >/dev/null 2>&1 || ! command -v groff >/dev/null 2>&1; then
	fail "man or groff not found: install man-db and groff-base (scripts/test.sh does)"
else
	if groff -man -Tutf8 -ww -z "$page" >"$tmp/groff.log" 2>&1 && [[ ! -s "$tmp/groff.log" ]]; then
		pass "groff -man -ww renders the page without a warning"
	else
		fail "groff -man -ww on the installed page:"
		indent "$tmp/groff.log"
	fi
	if MANPAGER=cat MANWIDTH=80 man -l "$page" >"$tmp/man.txt" 2>"$tmp/man.log" &&
		[[ ! -s "$tmp/man.log" ]] && grep -q 'EXIT STATUS' "$tmp/man.txt"; then
		pass "man -l renders the page without a warning"
	else
		fail "man -l on the installed page:"
		indent "$tmp/man.log"
	fi
fi

# 4. The page covers what the --help texts print. The roff source is read
# with \- turned into -; a section is what lies between its .SH or .SS line
# and the next one.
sed 's/\\-/-/g' "$page" >"$tmp/page.roff"
# section TITLE: the lines of the section whose title (without quotes and
# font escapes) is TITLE or starts with "TITLE ".
section()
{
	awk -v want="$1" '
		/^\.S[HS] / {
			t = substr($0, 5)
			gsub(/"/, "", t)
			gsub(/\\f[BIRP]/, "", t)
			cur = (t == want || index(t, want " ") == 1)
			next
		}
		cur' "$tmp/page.roff"
}
# has_option TEXT_FILE OPTION: OPTION occurs in the file as a whole word
# (--out must not match inside --output).
has_option() { grep -Eq -e "(^|[^a-z-])$2([^a-z-]|$)" "$1"; }
# exit_codes: the codes a help text on stdin lists after "exit codes:".
exit_codes() { sed -n '/^exit codes:/,$p' | sed 's/^exit codes://' | grep -oE '(^|[;:] ) *[0-9] ' | tr -dc '0-9\n'; }

"$binary" --help >"$tmp/help.txt"
mapfile -t commands < <(awk '/^commands:/ { f = 1; next } /^$/ { f = 0 } f && /^  [a-z]/ { print $1 }' "$tmp/help.txt")
mapfile -t globals < <(awk '/^global options:/ { f = 1; next } /^$/ { f = 0 } f && /^  --/ { print $1 }' "$tmp/help.txt")
if ((${#commands[@]} < 8 || ${#globals[@]} < 3)); then
	fail "cannot read the commands and global options from coopsettle --help"
fi

section "SYNOPSIS" >"$tmp/synopsis"
section "GLOBAL OPTIONS" >"$tmp/globals"
for opt in "${globals[@]}"; do
	if has_option "$tmp/globals" "$opt"; then
		pass "GLOBAL OPTIONS describes $opt"
	else
		fail "GLOBAL OPTIONS does not describe $opt"
	fi
done

section "EXIT STATUS" >"$tmp/exit"
for code in $(exit_codes <"$tmp/help.txt"); do
	if grep -A1 -x '\.TP' "$tmp/exit" | grep -qx "\.B $code"; then
		pass "EXIT STATUS describes exit $code"
	else
		fail "EXIT STATUS has no item for exit $code"
	fi
done

for cmd in "${commands[@]}"; do
	section "$cmd" >"$tmp/cmd"
	if [[ ! -s "$tmp/cmd" ]]; then
		fail "COMMANDS has no section (.SS) for $cmd"
		continue
	fi
	if has_option "$tmp/synopsis" "$cmd"; then
		pass "SYNOPSIS shows $cmd"
	else
		fail "SYNOPSIS does not show $cmd"
	fi
	if ! "$binary" "$cmd" --help >"$tmp/cmdhelp.txt" 2>&1; then
		fail "coopsettle $cmd --help failed:"
		indent "$tmp/cmdhelp.txt"
		continue
	fi
	mapfile -t options < <(grep -oE -- '--[a-z][a-z-]*' "$tmp/cmdhelp.txt" | sort -u)
	for opt in "${options[@]}"; do
		if printf '%s\n' "${globals[@]}" | grep -qx -e "$opt"; then
			continue # checked under GLOBAL OPTIONS
		fi
		if has_option "$tmp/cmd" "$opt"; then
			pass "$cmd: the page describes $opt"
		else
			fail "$cmd: its section does not mention $opt"
		fi
	done
	for code in $(exit_codes <"$tmp/cmdhelp.txt"); do
		if grep -Eq "(^|Exit status: |; )$code " "$tmp/cmd"; then
			pass "$cmd: the page gives the meaning of exit $code"
		else
			fail "$cmd: its section does not say what exit $code means"
		fi
	done
done

printf '%d passed, %d failed\n' "$passed" "$failed"
((failed == 0))

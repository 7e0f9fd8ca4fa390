#!/usr/bin/env bash
# function-lengths.sh -- the lines of every C function, longest first.
#
# usage: scripts/function-lengths.sh [--summary] [FILE...]   (default: src/*/*.c)
#
# A function runs from the line that names it (the last line before its "{"
# in column 0 that starts with a letter and has a parenthesis) to the "}" in
# column 0 that closes it, both included. --summary prints, per part of
# src/, the number of functions, how many exceed 80 lines, and the longest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

summary=0
if [[ ${1:-} == --summary ]]; then
	summary=1
	shift
fi
(($#)) || set -- src/*/*.c

lengths()
{
	awk '
	FNR == 1 { sig = ""; inbody = 0 }
	/^[A-Za-z_].*\(/ && !inbody { sig = $0; sigline = FNR }
	/^\{/ && !inbody { inbody = 1; start = sigline; name = sig; next }
	/^\}/ && inbody {
		inbody = 0
		fn = name; sub(/\(.*/, "", fn); k = split(fn, parts, /[ *]+/)
		printf "%d %s:%d %s\n", FNR - start + 1, FILENAME, start, parts[k]
	}' "$@" | sort -k1,1nr -k2,2
}

if ((summary)); then
	lengths "$@" | awk '{
		split($2, p, "/"); part = (p[1] == "src" && p[3] != "") ? p[2] : "(other)"
		n[part]++; if ($1 > 80) over[part]++
		if ($1 > max[part]) { max[part] = $1; name[part] = $3 }
		total++; if ($1 > 80) tover++
	} END {
		printf "%-8s %9s %8s  %s\n", "part", "functions", "over 80", "longest"
		for (k in n) printf "%-8s %9d %8d  %d %s\n", k, n[k], over[k], max[k], name[k] | "sort"
		close("sort")
		printf "%-8s %9d %8d\n", "all", total, tover
	}'
else
	lengths "$@"
fi

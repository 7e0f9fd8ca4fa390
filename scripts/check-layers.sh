#!/usr/bin/env bash
# check-layers.sh -- keep the parts of coopsettle apart (docs/architecture.md).
#
# usage: scripts/check-layers.sh [ROOT]
#
# Every file under src/PART/ belongs to PART; a public header
# include/coopsettle/X.h belongs to the part whose folder holds X.c (a few
# headers without a .c of their name are listed below). A file may include
# the headers of its own part and of the parts below it:
#
#   base    errors, buffers, hashing, JSON, fail points, limits
#   core    base; the config model (config.h) but not its loader
#   config  base, core
#   store   base, core, config
#   runs    base, core, config, store
#   audit   base, core, config, store, runs
#   cli     everything
#
# and, whatever its part: only src/config/reader.c includes <yaml.h>, only
# src/store/db.c includes <libpq-fe.h>, only src/base/hash.c includes an
# OpenSSL header, and only src/config/ includes the loader's private
# parse.h. Every violation is printed as FILE:LINE: what it includes and
# why that is refused; the exit status is 1 when there is one, else 0.
set -euo pipefail

root=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
cd "$root"

parts=(base core config store runs audit cli)

# Headers whose part is not the folder of a .c of the same name.
declare -A header_part=(
	[limits.h]=base
	[config.h]=config
	[config_load.h]=config
	[run.h]=runs
)

# rank PART: position of PART in the order above.
rank()
{
	local i

	for i in "${!parts[@]}"; do
		if [[ ${parts[$i]} == "$1" ]]; then
			echo "$i"
			return
		fi
	done
	echo -1
}

# Part of every public header, from the tree.
for path in src/*/*.c; do
	part=${path#src/}
	part=${part%%/*}
	name=$(basename "$path" .c).h
	if [[ -f include/coopsettle/$name && -z ${header_part[$name]:-} ]]; then
		header_part[$name]=$part
	fi
done

failures=0

# fail FILE LINE MESSAGE
fail()
{
	printf '%s:%s: %s\n' "$1" "$2" "$3" >&2
	failures=$((failures + 1))
}

for header in include/coopsettle/*.h; do
	name=$(basename "$header")
	if [[ -z ${header_part[$name]:-} ]]; then
		fail "$header" 1 "belongs to no part: add src/PART/${name%.h}.c, or list it in header_part of $0"
	fi
done

# check FILE PART: every #include of FILE against the rules.
check()
{
	local file=$1 part=$2 lineno text target tpart

	while IFS=: read -r lineno text; do
		target=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]([^>"]+)[>"].*/\1/' <<<"$text")
		case "$target" in
		yaml.h)
			[[ $file == src/config/reader.c ]] ||
				fail "$file" "$lineno" "includes <yaml.h>: only the YAML reader (src/config/reader.c) may"
			continue
			;;
		libpq-fe.h | libpq/* | postgresql/*)
			[[ $file == src/store/db.c ]] ||
				fail "$file" "$lineno" "includes <$target>: only the libpq edge (src/store/db.c) may"
			continue
			;;
		openssl/*)
			[[ $file == src/base/hash.c ]] ||
				fail "$file" "$lineno" "includes <$target>: only src/base/hash.c may (use coopsettle/hash.h)"
			continue
			;;
		parse.h | */parse.h)
			[[ $file == src/config/* ]] ||
				fail "$file" "$lineno" "includes the config loader's private parse.h: only src/config/ may"
			continue
			;;
		coopsettle/*.h) ;;
		*) continue ;; # the C library and other system headers
		esac
		tpart=${header_part[${target#coopsettle/}]:-}
		if [[ -z $tpart ]]; then
			fail "$file" "$lineno" "includes $target, which is not a header of coopsettle"
			continue
		fi
		if [[ $part == core && $tpart == config ]]; then
			[[ $target == coopsettle/config.h ]] ||
				fail "$file" "$lineno" "includes $target (config): the core may use the config model (config.h), not its loader"
			continue
		fi
		if (($(rank "$tpart") > $(rank "$part"))); then
			fail "$file" "$lineno" "includes $target ($tpart): the $part part may not include the $tpart part"
		fi
	done < <(grep -nE '^[[:space:]]*#[[:space:]]*include' "$file" || true)
}

for file in src/*/*.c src/*/*.h; do
	[[ -f $file ]] || continue
	part=${file#src/}
	part=${part%%/*}
	if (($(rank "$part") < 0)); then
		fail "$file" 1 "is in src/$part/, which is not a part (${parts[*]})"
		continue
	fi
	check "$file" "$part"
done
for header in include/coopsettle/*.h; do
	part=${header_part[$(basename "$header")]:-}
	[[ -n $part ]] && check "$header" "$part"
done
for file in src/*.c; do
	[[ -f $file ]] && fail "$file" 1 "lies directly in src/: put it in the folder of its part (${parts[*]})"
done

if ((failures)); then
	echo "check-layers: $failures include(s) cross a layer boundary (docs/architecture.md, 'Layers')" >&2
	exit 1
fi
echo "check-layers: ok ($(ls src/*/*.c | wc -l) sources, $(ls include/coopsettle/*.h | wc -l) headers)"

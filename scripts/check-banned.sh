#!/usr/bin/env bash
# check-banned.sh -- fail if src/ or include/ use a banned function or a
# floating-point type (after curl's checksrc).
#
# usage: scripts/check-banned.sh [ROOT]    (ROOT defaults to the repository)
#
# Prints "FILE:LINE: banned function X" or "FILE:LINE: banned type X" for
# each use and exits 1 if there is any. Comments, string and character
# literals are ignored, so a comment may say why sprintf is not used.
set -euo pipefail

root="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)}"

# Unbounded writes, unchecked conversions, and floating point (money is
# integer minor units or GMP, never binary fractions). Extend here.
banned_functions="sprintf vsprintf strcpy strcat atoi atol atoll atof strtod strtof strtold gets"
banned_types="float double"

cd "$root"
files=()
for dir in src include; do
	[[ -d "$dir" ]] || continue
	while IFS= read -r -d '' f; do
		files+=("$f")
	done < <(find "$dir" -type f \( -name '*.c' -o -name '*.h' \) -print0 | sort -z)
done
((${#files[@]} > 0)) || exit 0

BANNED_FUNCTIONS="$banned_functions" BANNED_TYPES="$banned_types" perl -e '
use strict;
use warnings;

my %kind;
$kind{$_} = "function" for split " ", $ENV{BANNED_FUNCTIONS};
$kind{$_} = "type" for split " ", $ENV{BANNED_TYPES};
my $words = join "|", map { quotemeta } sort keys %kind;
my $found = 0;

# Blank out a comment or literal but keep its newlines, so line numbers hold.
sub blank { my $s = shift; $s =~ s/[^\n]/ /g; return $s; }

for my $file (@ARGV) {
	open my $fh, "<", $file or die "$file: $!\n";
	local $/;
	my $text = <$fh>;
	close $fh;
	# One left-to-right pass, so "/*" inside a string or a quote inside a
	# comment is taken for what it is.
	$text =~ s{ ( /\*.*?\*/ | //[^\n]* | "(?:\\.|[^"\\\n])*" | \x27(?:\\.|[^\x27\\\n])*\x27 ) }
		  { blank($1) }gsex;
	my $line = 0;
	for my $l (split /\n/, $text, -1) {
		$line++;
		while ($l =~ /\b($words)\b/g) {
			print "$file:$line: banned $kind{$1} $1\n";
			$found = 1;
		}
	}
}
exit $found;
' "${files[@]}"

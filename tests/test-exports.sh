#!/bin/sh
# test-exports - the library exports exactly the public API: the symbols of
# the built libpshm.so (or, built for Windows, libpshm-N.dll's export
# table, as $OBJDUMP reads it), the version script lib/libpshm.map and the
# PSHM_EXTERN declarations of include/pshm.h must be the same list.
set -u
srcdir=${top_srcdir:-.}
builddir=${top_builddir:-.}
so="$builddir/lib/.libs/libpshm.so"
dll=$(ls "$builddir"/lib/.libs/libpshm-*.dll 2>/dev/null | head -n 1)
if [ -f "$so" ] && command -v nm >/dev/null 2>&1; then
	exports() { nm -D --defined-only "$so" | awk '$2 ~ /^[TDBR]$/ { sub(/@.*/, "", $3); print $3 }'; }
elif [ -n "$dll" ] && command -v "${OBJDUMP:-objdump}" >/dev/null 2>&1; then
	exports() {
		"${OBJDUMP:-objdump}" -p "$dll" | awk '/\[Ordinal\/Name Pointer\] Table/ { t = 1; next }
			t && /^\t\[/ { print $NF; next } t { exit }'
	}
else
	echo "SKIP: no $so or DLL, or no nm or objdump (a static-only build)"
	echo "0 passed, 0 failed, 1 skipped"
	exit 77
fi
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT

exports | sort >"$tmp/exported"
sed -n 's/^[[:space:]]*\(pshm_[a-z_0-9]*\);.*/\1/p' "$srcdir/lib/libpshm.map" | sort >"$tmp/map"
grep -v '#define' "$srcdir/include/pshm.h" | grep -o 'PSHM_EXTERN [^(]*(' | sed 's/.*[ *]\([a-z_0-9]*\)($/\1/' | sort >"$tmp/header"

passed=0 failed=0
check() { # check WHAT FILE1 FILE2
	if diff -u "$2" "$3" >"$tmp/diff"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL: $1"
		cat "$tmp/diff"
	fi
}
[ -s "$tmp/header" ] || { echo "FAIL: no PSHM_EXTERN declarations found"; failed=$((failed + 1)); }
check "exported symbols differ from lib/libpshm.map" "$tmp/map" "$tmp/exported"
check "include/pshm.h declares other symbols than lib/libpshm.map" "$tmp/map" "$tmp/header"

# The first draft of the contract named these; every one must stay exported.
# What the library exports beyond them are documented additions: each must
# have its manual page, sourced by a link page for `man NAME`.
contract="pshm_backend_name pshm_backend_supported pshm_default_backend pshm_strerror
pshm_attr_init pshm_attr_set_backend pshm_attr_set_mode pshm_attr_set_flags
pshm_create pshm_attach pshm_addr pshm_size pshm_name pshm_backend pshm_detach
pshm_destroy pshm_remove"
for fn in $contract; do
	if grep -qx "$fn" "$tmp/exported"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL: the contract's $fn is not exported"
	fi
done
while read -r fn; do
	if grep -q -w -- "$fn" "$srcdir/Makefile.am" &&
		grep -q -E "^\\.BI? \".*[ *]$fn\\(" "$srcdir"/man/*.3; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL: $fn has no synopsis in man/*.3 or no link page in Makefile.am"
	fi
done <"$tmp/exported"
echo "exports: $(wc -l <"$tmp/exported") symbols"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

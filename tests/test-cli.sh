#!/bin/sh
# test-cli - the pshm command against real segments of every backend: create,
# list (text and JSON), info, clean (dry run, then for real: a segment whose
# creator, the pshm process itself, has exited is an orphan), rm, and the
# exit codes of mistakes; options anywhere on the line; hostile objects at a
# name (a FIFO), another user's segments seen by an ordinary user, and
# owner names that JSON must escape.  The mmap backend works in a private directory, and
# clean is only ever given the test's own names, so that nothing else on the
# machine (or in the suites running alongside) is touched.
set -u
builddir=${top_builddir:-.}
pshm="$builddir/tools/pshm"
[ -x "$pshm" ] || { echo "SKIP: no $pshm"; echo "0 passed, 0 failed, 1 skipped"; exit 77; }
tmp=$(mktemp -d) || exit 99
chmod 700 "$tmp"
# Where $PSHM_TEST_EXEC names the emulator that runs this build's programs
# (qemu-user), each is run through a script that calls it (in a directory
# that other users may read: a test runs the command as nobody).
wrappers=$(mktemp -d) || exit 99
chmod 755 "$wrappers"
runnable() { # runnable PROGRAM: a path that runs it
	[ -n "${PSHM_TEST_EXEC:-}" ] || { echo "$1"; return; }
	printf '#!/bin/sh\nexec %s %s "$@"\n' "$PSHM_TEST_EXEC" "$1" >"$wrappers/${1##*/}"
	chmod 755 "$wrappers/${1##*/}"
	echo "$wrappers/${1##*/}"
}
pshm=$(runnable "$pshm")
export PSHM_MMAP_DIR="$tmp"
prefix="tst-$$-cli"
passed=0 failed=0 skipped=0
skip() { # skip WHAT: a part this machine cannot run, said and counted
	echo "SKIP: $1"
	skipped=$((skipped + 1))
}
cleanup() {
	for b in sysv posix mmap; do
		"$pshm" -b "$b" rm "$prefix-$b" >/dev/null 2>&1
		"$pshm" -b "$b" rm "$prefix-$b-2" >/dev/null 2>&1
		"$pshm" -b "$b" rm "$prefix-$b-3" >/dev/null 2>&1
	done
	"$pshm" rm "$prefix-x" >/dev/null 2>&1
	"$pshm" -b posix rm "$prefix-other" >/dev/null 2>&1
	"$pshm" -b sysv rm "$prefix-half" >/dev/null 2>&1
	rm -f "/dev/shm/pshm.$prefix-fifo"
	rm -rf "$tmp" "$wrappers"
}
trap cleanup EXIT

check() { # check WHAT COMMAND...: the command must succeed
	what=$1
	shift
	if "$@" >"$tmp/out" 2>&1; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL: $what"
		sed 's/^/  | /' "$tmp/out"
	fi
}
status_is() { # status_is WANT COMMAND...: the command's exit status must be WANT
	want=$1
	shift
	"$@" >"$tmp/out" 2>&1
	got=$?
	[ "$got" -eq "$want" ]
}
has() { grep -q -- "$1" "$tmp/out"; }
supported() { "$pshm" -b "$1" info "$prefix-probe" 2>&1 | grep -q -v "not supported"; }

check "--version" sh -c "'$pshm' --version | grep -q '^pshm (libpshm) '"
check "--help" sh -c "'$pshm' --help | grep -q '^Usage: pshm'"
check "unknown command is exit 2" status_is 2 "$pshm" frobnicate
check "unknown backend is exit 2" status_is 2 "$pshm" -b nope list
check "bad size is exit 2" status_is 2 "$pshm" create "$prefix-x" 12Q
check "bad mode is exit 2" status_is 2 "$pshm" -m 999 create "$prefix-x" 10
check "bad name is exit 1" status_is 1 "$pshm" create "../escape" 10
check "a size with a blank and a sign is exit 2" status_is 2 "$pshm" create "$prefix-x" ' -1'
check "a negative size is exit 2, not 1 byte" status_is 2 "$pshm" create "$prefix-x" ' -18446744073709551615'
check "a mode over 0777 is exit 2" status_is 2 "$pshm" -m 40000000600 create "$prefix-x" 10
check "a mode with a sign is exit 2" status_is 2 "$pshm" -m -600 create "$prefix-x" 10
check "clean of nothing is exit 1" status_is 1 "$pshm" clean "$prefix-none"
check "info of nothing is exit 1" status_is 1 "$pshm" info "$prefix-none"
check "rm of nothing is exit 1" status_is 1 "$pshm" rm "$prefix-none"

for b in sysv posix mmap; do
	if ! supported "$b"; then
		skip "backend $b not supported here"
		continue
	fi
	name="$prefix-$b"
	check "$b: create" "$pshm" -b "$b" create "$name" 4k
	check "$b: create again is exit 1" status_is 1 "$pshm" -b "$b" create "$name" 4k
	check "$b: info" sh -c "'$pshm' -b $b info $name | grep -q '^size: *4096$'"
	check "$b: info says ready" sh -c "'$pshm' -b $b info $name | grep -q '^state: *ready$'"
	check "$b: info finds it without -b" sh -c "'$pshm' info $name | grep -q '^backend: *$b$'"
	if "$pshm" -b "$b" list >"$tmp/list" 2>&1; then
		check "$b: list shows it" grep -q "^$name  *$b  *4096 " "$tmp/list"
		check "$b: list --json" sh -c "'$pshm' -b $b --json list | grep -q '\"name\": \"$name\", \"backend\": \"$b\"'"
	else
		skip "$b cannot list here: $(cat "$tmp/list")"
	fi
	if "$pshm" -b "$b" info "$name" | grep -q '^attached: *unknown$'; then
		# Some process here cannot be inspected: nothing is known unused.
		check "$b: --json info is no orphan while attachments are unknown" \
			sh -c "'$pshm' -b $b --json info $name | grep -q '\"orphaned\": false'"
		check "$b: clean leaves it" sh -c "'$pshm' -b $b clean $name | grep -v -q removed; '$pshm' -b $b info $name"
		check "$b: rm removes it" "$pshm" -b "$b" rm "$name"
	else
		check "$b: --json info is an orphan (its creator exited)" \
			sh -c "'$pshm' -b $b --json info $name | grep -q '\"orphaned\": true'"
		check "$b: clean --dry-run names it" sh -c "'$pshm' -b $b --dry-run clean $name | grep -q '^would remove $b:$name$'"
		check "$b: ... and leaves it" "$pshm" -b "$b" info "$name"
		check "$b: clean removes it" sh -c "'$pshm' -b $b clean $name | grep -q '^removed $b:$name$'"
	fi
	check "$b: ... and it is gone" status_is 1 "$pshm" -b "$b" info "$name"
	check "$b: options after the command" "$pshm" create --backend "$b" "$name-3" 8192
	check "$b: ... anywhere" "$pshm" rm "$name-3" -b "$b"
	check "$b: create with a mode" "$pshm" -b "$b" -m 640 create "$name-2" 1M
	check "$b: ... which info shows" sh -c "'$pshm' -b $b info $name-2 | grep -q '^mode: *0640$'"
	check "$b: rm" "$pshm" -b "$b" rm "$name-2"
	check "$b: rm again is exit 1" status_is 1 "$pshm" -b "$b" rm "$name-2"
done

# A half-made SysV segment has no name to be listed by: clean NAME must
# still find it (its creator, the helper, has exited).
helper=$(runnable "$builddir/tests/pshm-helper")
if supported sysv && "$helper" sysv "$prefix-half" half-made >/dev/null; then
	check "sysv: a half-made segment whose creator died is orphaned" \
		sh -c "'$pshm' -b sysv info $prefix-half | grep -q '^orphaned: *yes$'"
	check "sysv: clean NAME removes it" sh -c "'$pshm' clean $prefix-half | grep -q '^removed sysv:$prefix-half$'"
	check "sysv: ... and it is gone" status_is 1 "$pshm" -b sysv info "$prefix-half"
fi

# A FIFO planted at a POSIX segment's name (any user can, in /dev/shm) must
# never make the command wait for a writer.
fifo="/dev/shm/pshm.$prefix-fifo"
if supported posix && [ -d /dev/shm ] && mkfifo "$fifo" 2>/dev/null; then
	check "a FIFO: list does not block and shows it foreign" \
		sh -c "timeout 20 '$pshm' -b posix list | grep -q '^$prefix-fifo .* foreign$'"
	check "a FIFO: info says foreign" \
		sh -c "timeout 20 '$pshm' -b posix info $prefix-fifo | grep -q '^state: *foreign$'"
	check "a FIFO: clean does not block, and leaves it" \
		sh -c "timeout 20 '$pshm' -b posix clean && test -p '$fifo'"
	rm -f "$fifo"
fi

# Another user's segment, seen by an ordinary user: listed and marked, not
# an error, as ipcs does; and never cleaned.
if supported posix && [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null &&
	as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups env -u PSHM_MMAP_DIR "$@"; } &&
	as_nobody "$pshm" --version >/dev/null 2>&1 &&
	"$pshm" -b posix create "$prefix-other" 4k; then
	check "an ordinary user: list exits 0" sh -c "setpriv --reuid=65534 --regid=65534 --clear-groups \
		'$pshm' -b posix list >'$tmp/list'"
	check "... and marks what it cannot inspect" \
		grep -q "^$prefix-other .*unknown (Permission denied)$" "$tmp/list"
	check "an ordinary user: --json list is marked too" \
		sh -c "setpriv --reuid=65534 --regid=65534 --clear-groups '$pshm' -b posix --json list | grep -q '\"name\": \"$prefix-other\", \"backend\": \"posix\", \"state\": \"unknown\"'"
	check "an ordinary user: clean exits 0" as_nobody "$pshm" -b posix clean
	check "... and leaves it" "$pshm" -b posix info "$prefix-other"
	"$pshm" -b posix rm "$prefix-other" >/dev/null 2>&1
else
	skip "an ordinary user's view (needs posix, root, setpriv, and nobody able to run $pshm)"
fi

# --json stays valid JSON whatever bytes an owner's name holds (a tab, a
# quote, a control character, a byte that is not UTF-8): a user of that
# name, in a passwd file seen only by the command.
if supported posix && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null &&
	command -v python3 >/dev/null &&
	"$pshm" -b posix create "$prefix-other" 4k && chown 4242 "/dev/shm/pshm.$prefix-other"; then
	cp /etc/passwd "$tmp/passwd"
	printf 'ev\til"q\001\377:x:4242:4242::/:/bin/false\n' >>"$tmp/passwd"
	check "--json escapes an owner's name" sh -c "unshare -m sh -c \
		\"mount --bind '$tmp/passwd' /etc/passwd && '$pshm' -b posix --json info $prefix-other\" >'$tmp/json' &&
		python3 -c 'import json, sys; assert json.load(open(sys.argv[1]))[0][\"owner_name\"] == \"ev\\til\\\"q\\x01\\ufffd\"' '$tmp/json'"
	"$pshm" -b posix rm "$prefix-other" >/dev/null 2>&1
else
	skip "JSON of odd owner names (needs posix, root, unshare and python3)"
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]

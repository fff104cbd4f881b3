# lanes.sh - the lanes of .ci/run: out-of-tree builds, each running the
# whole suite, from one table.  Sourced by .ci/run, which defines top, logs,
# section and fail (and steps.sh's synthesis and totals).

# Every out-of-tree build is a lane: a name, the environment its tests run
# in, its configure arguments and what make runs; its log, build tree and
# each suite's closing line are kept in one temporary directory until the
# lane passes.  Each prints what configure chose, every suite's closing
# line and a row of totals for README's "Tested on" table.
lanes_dir="$logs/lanes"
lane() { # lane NAME ENVIRONMENT CONFIGURE-ARGS MAKE-TARGETS
	local name=$1 dir="$lanes_dir/$1"
	section "lane $name: ${2:+$2 }configure $3; make $4"
	mkdir -p "$dir"
	(cd "$dir" && { [ -z "$2" ] || eval "export $2"; } && eval "\"$top/configure\" $3" &&
		eval "make -s -j2 $4") >"$dir.log" 2>&1
	local rc=$?
	sed -n '/^  libpshm [0-9]/,/^$/p' "$dir.log" | grep -E 'host:|backends:|robust|waiting|/proc|attach holds|shm names|tests:'
	synthesis "$dir" # (check-valgrind's logs are tests/*.valgrind.log)
	totals "$name" "$dir"
	if [ "$rc" -ne 0 ]; then
		tail -n 80 "$dir.log"
		[ -f "$dir/test-suite.log" ] && cat "$dir/test-suite.log"
		fail "lane $name"
	fi
}

# How i386 programs run here: natively where the kernel has 32-bit
# emulation, else (Exec format error) under qemu-i386, static, as the arm64
# and s390x lanes run theirs.  PSHM_CI_I386=qemu takes the emulated way on
# any kernel.  Sets i386_env, i386_args and i386_make for the lane, and in
# i386_include the kernel's asm/ headers, which gcc -m32 looks for where
# gcc-multilib (which conflicts with the cross compilers) would link them.
i386_way_here() {
	i386_include="$logs/i386-include"
	mkdir -p "$i386_include" && ln -sfn /usr/include/x86_64-linux-gnu/asm "$i386_include/asm"
	local probe="$logs/i386-probe" way
	printf 'int main(void) { return 0; }\n' >"$probe.c"
	gcc -m32 "$probe.c" -o "$probe" || fail "gcc -m32 cannot build a program"
	if [ "${PSHM_CI_I386:-}" != qemu ] && "$probe" 2>/dev/null; then
		way=natively i386_env="" i386_args="--enable-werror" i386_make=check
	else
		way="under qemu-i386" i386_env="PSHM_TEST_EXEC=qemu-i386"
		i386_args="--disable-shared --enable-werror" i386_make="check LOG_COMPILER=qemu-i386"
	fi
	echo "i386 programs run $way on this kernel"
}

# What macOS and FreeBSD lack, forced off in configure's cache variables.
no_linux_extras="pshm_cv_futex=no pshm_cv_proc=no ac_cv_have_decl_MADV_POPULATE_WRITE=no \
ac_cv_have_decl_MAP_HUGETLB=no ac_cv_have_decl_MFD_HUGETLB=no ac_cv_have_decl_SHM_HUGETLB=no"
as_macos="$no_linux_extras ac_cv_func_memfd_create=no ac_cv_have_decl_F_ADD_SEALS=no \
ac_cv_func_posix_fallocate=no \
ac_cv_func_pthread_mutexattr_setrobust=no pshm_cv_shm_name_max=31"
as_freebsd="$no_linux_extras"
# Wine runs the Windows lane's programs (the first run makes its prefix).
wine=/usr/lib/wine/wine64
qemu_env() { # qemu_env ARCH TRIPLET: how the tests run that lane's programs
	echo "QEMU_LD_PREFIX=/usr/$2 PSHM_TEST_EXEC=qemu-$1"
}

san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
cross="--disable-shared --enable-werror" # static: qemu runs the programs, not libtool's scripts

# What a default-* lane built must say its default backend is.
default_backend_is() { # default_backend_is BACKEND
	local dir="$lanes_dir/default-$1"
	cat >"$dir/default.c" <<'PROG'
#include <pshm.h>
#include <stdio.h>
int main(void) { puts(pshm_backend_name(pshm_default_backend())); return 0; }
PROG
	gcc -I"$top/include" "$dir/default.c" -L"$dir/lib/.libs" -lpshm -o "$dir/default" ||
		fail "linking the default-backend probe"
	local got
	got=$(LD_LIBRARY_PATH="$dir/lib/.libs" "$dir/default")
	echo "--with-default-backend=$1: pshm_default_backend() says $got"
	[ "$got" = "$1" ] || fail "default backend $got, expected $1"
}

# The macOS lane runs under macOS's SysV limit (kern.sysv.shmmax, 4 MiB);
# the machine's own is put back whatever happens.
shmmax_file=/proc/sys/kernel/shmmax
shmmax_saved=$(cat "$shmmax_file" 2>/dev/null || true)
restore_shmmax() { [ -z "$shmmax_saved" ] || echo "$shmmax_saved" >"$shmmax_file" 2>/dev/null || true; }
set_shmmax() {
	if echo "$1" >"$shmmax_file" 2>/dev/null; then
		echo "SysV segments limited to $1 bytes (SHMMAX) for the lane that follows"
	else
		echo "(SysV limit not writable here: the lane runs with the machine's)"
	fi
}

# Every lane, in the table's order; the source tree is unconfigured first
# (out-of-tree builds need that).
step_lanes() {
	[ ! -f Makefile ] || make -s distclean >/dev/null 2>&1 || fail "make distclean"
	i386_way_here
	# name          |environment                          |configure arguments                          |make
	lanes=(
		"clang          ||CC=clang --enable-werror                                 |check"
		"i386           |$i386_env|--host=i686-linux-gnu CC='gcc -m32 -isystem $i386_include' --without-criterion $i386_args|$i386_make"
		"arm64          |$(qemu_env aarch64 aarch64-linux-gnu)|--host=aarch64-linux-gnu $cross    |check LOG_COMPILER=qemu-aarch64"
		"s390x          |$(qemu_env s390x s390x-linux-gnu)|--host=s390x-linux-gnu --disable-sysv $cross|check LOG_COMPILER=qemu-s390x"
		"musl           ||CC=musl-gcc LDFLAGS=-static --disable-shared --without-criterion --enable-werror|check"
		"windows        |WINEDEBUG=-all|--host=x86_64-w64-mingw32 --enable-werror     |check LOG_COMPILER=$wine"
		"macos-profile  ||$as_macos --enable-werror                                   |check"
		"freebsd-profile||$as_freebsd --enable-werror                                 |check"
		"sysv-only      ||--disable-posix --disable-mmap --enable-werror             |check"
		"posix-only     ||--disable-sysv --disable-mmap --enable-werror              |check"
		"mmap-only      ||--disable-sysv --disable-posix --enable-werror             |check"
		"fallback       ||--disable-robust-mutex --disable-futex --enable-werror     |check TESTS='tests/test-sync tests/race-sync tests/test-segment tests/test-sem tests/test-deadline tests/test-heapkill tests/test-heapslots'"
		"asan-ubsan     ||CC=clang CFLAGS='-g -O1 $san' LDFLAGS='$san' --enable-werror --disable-shared|check"
		"valgrind       ||--enable-werror                                            |check-valgrind"
		"default-sysv   ||--with-default-backend=sysv --enable-werror                |lib/libpshm.la"
		"default-posix  ||--with-default-backend=posix --enable-werror               |lib/libpshm.la"
		"default-mmap   ||--with-default-backend=mmap --enable-werror                |lib/libpshm.la"
	)
	trap restore_shmmax EXIT
	for row in "${lanes[@]}"; do
		IFS='|' read -r name env args targets <<<"$row"
		name=${name%% *}
		case $name in macos-*) set_shmmax 4194304 ;; esac
		lane "$name" "$env" "$args" "$targets"
		case $name in macos-*) restore_shmmax ;; esac
		case $name in default-*) default_backend_is "${name#default-}" ;; esac
		rm -rf "${lanes_dir:?}/$name" "$lanes_dir/$name.log"
	done
}

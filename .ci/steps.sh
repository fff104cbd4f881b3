# steps.sh - the steps of .ci/run before the lanes, each a function
# step_NAME, and what they share.  Sourced by .ci/run, which defines top,
# logs, section and fail.

# The example program NAME.c as README shows it.
readme_example() { sed -n "/^\/\* $1.c/,/^\`\`\`/p" README.md | sed '$d'; }

# SysV shared memory segments on the machine (any owner), and entries in
# /dev/shm (POSIX objects, and the mmap backend's default directory).
sysv_segments() { ipcs -m 2>/dev/null | grep -c -E '^0x' || true; }
shm_entries() { find /dev/shm -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

# The log of every suite in a build tree (not automake's summary).
suite_logs() { # suite_logs BUILDDIR
	for log in "$1"/tests/*.log; do
		[ -f "$log" ] && [ "$(basename "$log")" != test-suite.log ] && echo "$log"
	done
}

# Criterion's closing line of every suite in a build tree, named.
synthesis() { # synthesis BUILDDIR
	suite_logs "$1" | while read -r log; do
		line=$(grep -h -E 'Synthesis:|^[0-9]+ passed, [0-9]+ failed|^SKIP' "$log" | tail -n 1)
		printf '%-28s %s\n' "$(basename "$log" .log):" "${line:-(no closing line)}"
	done
}

# One row of README's "Tested on" table: the tests that passed, failed and
# were skipped in a lane's suites (Criterion names its skips at verbosity 1).
totals() { # totals NAME BUILDDIR
	suite_logs "$2" | while read -r log; do cat "$log"; done | awk -v lane="$1" '
		/Synthesis:/ { for (i = 1; i <= NF; i++) {
			if ($i == "Passing:") p += $(i + 1)
			if ($i == "Failing:" || $i == "Crashing:") f += $(i + 1) } ; n++ }
		/^\[SKIP\]/ { s++ }
		/^[0-9]+ passed, [0-9]+ failed/ { p += $1; f += $3; if ($5 != "") s += $5; n++ }
		END { if (n) printf "| %s | %d suites | %d passed | %d failed | %d skipped |\n", lane, n, p, f, s }'
}

# A configured tree, for a step run alone: README's build command's
# bootstrap and configure, where no Makefile is there yet.
configured() {
	[ -f Makefile ] || { ./bootstrap >"$logs/bootstrap.log" 2>&1 && ./configure -q; } ||
		fail "./bootstrap && ./configure"
}

step_dependencies() {
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq || fail "apt-get update"
		apt-get install -y -qq --no-install-recommends \
			autoconf automake libtool pkg-config make gcc clang libc6-dev \
			libcriterion-dev cppcheck clang-tidy valgrind mandoc >/dev/null || fail "apt-get install"
		# What `make bench` compares libpshm with, and draws its charts with.
		apt-get install -y -qq --no-install-recommends \
			g++ libapr1-dev libaprutil1-dev libmm-dev libboost-dev python3 gnuplot-nox >/dev/null ||
			fail "apt-get install (benchmark peers)"
		# The portability lanes' compilers, C libraries and emulator
		# (gcc-multilib conflicts with the cross compilers: its parts instead).
		apt-get install -y -qq --no-install-recommends \
			libc6-dev-i386 "lib32gcc-$(gcc -dumpversion | cut -d. -f1)-dev" musl-tools \
			gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-s390x-linux-gnu libc6-dev-s390x-cross \
			qemu-user >/dev/null || fail "apt-get install (portability lanes)"
		# The Python package and its tests; the MPI example.
		apt-get install -y -qq --no-install-recommends \
			python3-dev python3-setuptools python3-wheel python3-venv python3-numpy python3-pytest \
			libopenmpi-dev openmpi-bin >/dev/null || fail "apt-get install (Python, MPI)"
		# Windows: its compiler (MinGW-w64) and Wine to run what it builds.
		apt-get install -y -qq --no-install-recommends gcc-mingw-w64-x86-64 wine64 >/dev/null ||
			fail "apt-get install (MinGW-w64, Wine)"
	fi
	# Huge pages set aside, so that the PSHM_HUGEPAGES tests take their success
	# path (without them they check the -ENOMEM one).
	if [ "$(id -u)" = 0 ] && [ -w /proc/sys/vm/nr_hugepages ]; then
		echo 64 >/proc/sys/vm/nr_hugepages || true
	fi
	echo "huge pages set aside: $(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo none)"
	for tool in autoreconf automake libtoolize pkg-config gcc clang cppcheck clang-tidy valgrind mandoc \
		musl-gcc aarch64-linux-gnu-gcc s390x-linux-gnu-gcc qemu-aarch64 qemu-s390x qemu-i386 \
		x86_64-w64-mingw32-gcc /usr/lib/wine/wine64; do
		command -v "$tool" >/dev/null || fail "$tool is missing"
	done
}

# README's test command, exactly; every suite's closing line; a row of totals.
step_check() {
	test_cmd=$(sed -n 's/^    \(.*make check\)[[:space:]]*#.*/\1/p' README.md | head -n 1)
	[ -n "$test_cmd" ] || fail "README.md has no test command"
	echo "$ $test_cmd"
	eval "$test_cmd"
	rc=$?
	section "closing lines"
	synthesis "$top"
	totals x86-64-gcc "$top"
	if [ "$rc" -ne 0 ]; then
		[ -f test-suite.log ] && cat test-suite.log
		fail "README's test command exited $rc"
	fi
}

# The one test that sets the system's clock back, run alone (as root), so
# that no other test sees the clock move.
step_clock() {
	[ "$(id -u)" = 0 ] || { echo "(not root: the clock is not set back)"; return 0; }
	configured
	make -s tests/test-deadline >/dev/null || fail "make tests/test-deadline"
	PSHM_TEST_SET_CLOCK=1 CRITERION_VERBOSITY_LEVEL=1 ./tests/test-deadline \
		--filter 'deadline/setting_the_clock_back*' >"$logs/clock.log" 2>&1 ||
		{ cat "$logs/clock.log"; fail "test-deadline with the clock set back"; }
	grep -h -E 'Synthesis:|setting_the_clock_back' "$logs/clock.log"
	grep -q '^\[SKIP\] deadline::setting_the_clock_back' "$logs/clock.log" &&
		fail "the clock test was skipped"
	return 0
}

# What Windows (MinGW-w64) sees of libpshm so far, all warnings errors:
# pshm.h (a user of the DLL imports the calls, one of the static library,
# PSHM_STATIC, calls them directly; pshm_info_t's types exist), and the
# library's rooms with no platform variant (make check-portable).
step_windows() {
	configured
	local use="$logs/use-pshm.c" cc="x86_64-w64-mingw32-gcc -std=c11 -Wall -Wextra -Werror -Iinclude"
	printf '%s\n' '#include <pshm.h>' 'int main(void)' '{' '	pshm_info_t info;' \
		'	pshm_attr_t attr;' '	pshm_attr_init(&attr);' \
		'	return pshm_attr_set_mode(&attr, 0600) + pshm_stat("x", &attr, &info);' '}' >"$use"
	$cc -c "$use" -o "$logs/dll-user.o" || fail "pshm.h does not compile for Windows"
	x86_64-w64-mingw32-objdump -t "$logs/dll-user.o" | grep -q '__imp_pshm_stat' ||
		fail "a Windows program does not import pshm_stat from the DLL"
	$cc -DPSHM_STATIC -c "$use" -o "$logs/static-user.o" || fail "pshm.h with PSHM_STATIC"
	x86_64-w64-mingw32-objdump -t "$logs/static-user.o" | grep -q '__imp_' &&
		fail "PSHM_STATIC still imports from a DLL"
	echo "pshm.h: compiles for Windows; imports from the DLL, or not with PSHM_STATIC"
	make -s check-portable || fail "make check-portable"
}

step_lint() {
	configured
	make -s lint || fail "make lint"
	echo "lint: clean"
}

# The commands examples/README shows on the "run:" line of example NAME
# (and the lines that continue it), one per line.
example_run() {
	awk -v entry="  $1.c " '
		index($0, entry) == 1 { inside = 1; next }
		inside && /^  [a-z]/ { exit }
		inside && /run: / { sub(/.*run: /, ""); print; more = 1; next }
		more && /^                   [^ ]/ { sub(/^ +/, ""); print; next }
		{ more = 0 }' examples/README
}

# Run what example_run says for NAME (a program put in the background
# included), from the top of the tree.
run_example() {
	local run before=${!:-}
	run=$(example_run "$1")
	[ -n "$run" ] || fail "examples/README shows no run: line for $1"
	echo "$run" | sed 's/^/$ /'
	(eval "$run" || exit 1; [ "${!:-}" = "$before" ] || wait "$!") >"$logs/example.log" 2>&1 ||
		{ cat "$logs/example.log"; fail "examples/$1"; }
	tail -n 2 "$logs/example.log"
}

# Every program of Makefile.am's example_programs, as examples/README runs
# it; the MPI example under mpirun (as root, oversubscribed on 2 cores).
step_examples() {
	configured
	make -s examples || fail "make examples"
	readme_example records | diff - examples/records.c ||
		fail "README's records example and examples/records.c differ"
	for program in $(make -s print-examples); do
		run_example "${program#examples/}"
	done
	make -s example-mpi || fail "make example-mpi"
	local mpi
	mpi=$(example_run mpi)
	echo "\$ $mpi"
	eval "${mpi/mpirun/mpirun --oversubscribe --allow-run-as-root}" || fail "examples/mpi under mpirun"
}

# make bench in smoke mode: the benchmarks and their peers keep building and
# running, and every peer installed is found.
step_bench() {
	configured
	make -s bench BENCH_FLAGS=--smoke >"$logs/bench.log" 2>&1 || { cat "$logs/bench.log"; fail "make bench"; }
	grep -E '^(====|## |charts: )' "$logs/bench.log"
	if grep -E 'skipped: .*(not found by ./configure|not built|failed)' "$logs/bench.log"; then
		fail "a benchmark peer was skipped"
	fi
	for chart in access lifecycle firsttouch handoff scale peers; do
		[ -s "bench/results/$chart.png" ] || fail "no chart bench/results/$chart.png"
	done
}

step_tsan() {
	configured
	make -s check-tsan TSAN_CC=clang || fail "make check-tsan"
}

step_fuzz() {
	configured
	make -s fuzz FUZZ_SECONDS=30 || fail "make fuzz"
}

# What README.md and python/README print for Python, run exactly as printed:
# README's ```python block; python/README's example (indented four spaces);
# the first indented command line of FILE that starts with PATTERN, and the
# lines of FILE from one so starting to the next (a command and its
# partner in the background).
readme_python() { sed -n '/^```python$/,/^```$/p' README.md | sed '1d;$d'; }
python_readme_example() {
	sed -n '/^    import numpy, pshm$/,/^    seg\.destroy()/p' python/README | sed 's/^    //'
}
printed_line() { sed -n "s|^    \($2.*\)|\1|p" "$1" | head -n 1; }
printed_lines() { sed -n "\|^    $2|,\|^    $3|p" "$1" | sed 's/^    //'; }

# The Python package, built by pip against libpshm installed in prefix $1
# with README's command (Debian's Python, its numpy and pytest, in a virtual
# environment at the top of the tree; warnings as errors), its tests, the
# printed examples (each run twice: the first leaves nothing that stops the
# second), C and Python on one segment both ways, and the seed's experiment.
python_package() {
	local py="$top/venv/bin/python" install
	install=$(printed_line README.md '/usr/bin/python3 -m venv')
	[ -n "$install" ] || fail "README.md prints no command that installs the Python package"
	echo "\$ $install"
	(export PKG_CONFIG="pkg-config --define-variable=prefix=$1" PKG_CONFIG_PATH="$1/lib/pkgconfig" \
		PSHM_WERROR=1 && eval "$install") >"$logs/pip.log" 2>&1 ||
		{ cat "$logs/pip.log"; fail "README's command that installs the Python package"; }
	(cd "$logs" && "$py" -m pytest -q "$top/python/tests") || fail "the Python package's tests"
	for run in 1 2; do
		readme_python | "$py" - || fail "README's Python example (run $run)"
		python_readme_example | "$py" - || fail "python/README's example (run $run)"
	done
	echo "README's and python/README's Python examples: ran twice each"
	local channel
	channel=$(printed_lines python/README './examples/channel produce' 'venv/bin/python')
	[ -n "$channel" ] || fail "python/README prints no channel example"
	echo "$channel" | sed 's/^/$ /'
	eval "$channel" || fail "python/README's channel example"
	wait $! || fail "python/README's C producer"
	(cd "$logs" && "$py" "$top/python/examples/channel.py" produce ci-channel-py 20000) &
	./examples/channel consume ci-channel-py || fail "a C consumer of a Python producer"
	wait $! || fail "the Python producer"
	(cd "$logs" && "$py" "$top/python/bench/seed.py" --smoke "$logs/pybench") >"$logs/pybench.log" 2>&1 ||
		{ cat "$logs/pybench.log"; fail "python/bench/seed.py"; }
	grep -E '^(## |chart)' "$logs/pybench.log"
	rm -rf "$top/venv"
}

# README's C examples built against libpshm installed in prefix $1 through
# pkg-config, and run: each prints what README says it prints.
readme_c_examples() {
	local flags got
	flags=$(PKG_CONFIG_PATH="$1/lib/pkgconfig" \
		pkg-config --define-variable=prefix="$1" --cflags --libs libpshm) || fail "pkg-config"
	echo "pkg-config --cflags --libs libpshm: $flags"
	for example in "count:400000" "records:consumer: 1000 records, sum 499500"; do
		local name=${example%%:*} want=${example#*:}
		readme_example "$name" >"$1/$name.c"
		# shellcheck disable=SC2086
		gcc -std=c11 -Wall -Wextra -Werror "$1/$name.c" $flags -o "$1/$name" ||
			fail "README's $name example does not build against the installed library"
		got=$(LD_LIBRARY_PATH="$1/lib" "$1/$name")
		echo "README's $name example printed: $got"
		[ "$got" = "$want" ] || fail "README's $name example printed $got, not $want"
	done
}

# make install into a scratch prefix; README's examples and the Python
# package against it; the manual pages and the command there; uninstall.
step_install() {
	configured
	local prefix left
	prefix=$(mktemp -d)
	make -s install prefix="$prefix" >/dev/null || fail "make install"
	readme_c_examples "$prefix"
	python_package "$prefix"
	for page in man3/pshm_create.3 man3/pshm_mutex_lock.3 man3/pshm_stat.3 man3/pshm_send.3 \
		man3/pshm_resize.3 man1/pshm.1 man7/pshm.7; do
		[ -f "$prefix/share/man/$page" ] || fail "man page $page not installed"
	done
	[ -x "$prefix/bin/pshm" ] || fail "the pshm command is not installed"
	LD_LIBRARY_PATH="$prefix/lib" "$prefix/bin/pshm" --version || fail "the installed pshm does not run"
	make -s uninstall prefix="$prefix" >/dev/null || fail "make uninstall"
	left=$(find "$prefix" -type f ! -name 'count*' ! -name 'records*')
	[ -z "$left" ] || fail "make uninstall left: $left"
	rm -rf "$prefix"
}

step_distcheck() {
	configured
	make -s distcheck >"$logs/distcheck.log" 2>&1 || { tail -n 40 "$logs/distcheck.log"; fail "make distcheck"; }
	grep -A1 'archives ready' "$logs/distcheck.log"
	rm -f libpshm-*.tar.gz
}

# What every step left, at the end of a run: nothing of libpshm's in
# /dev/shm, and as many SysV segments and /dev/shm entries as before it.
nothing_left_behind() {
	local left sysv_after shm_after
	left=$(ls -A /dev/shm 2>/dev/null | grep -E '^pshm' || true)
	[ -z "$left" ] || fail "left in /dev/shm: $left"
	sysv_after=$(sysv_segments)
	shm_after=$(shm_entries)
	[ "$sysv_after" = "$sysv_before" ] || fail "SysV segments: $sysv_before before, $sysv_after after"
	[ "$shm_after" = "$shm_before" ] || fail "/dev/shm entries: $shm_before before, $shm_after after"
	echo "SysV segments: $sysv_before before, $sysv_after after; /dev/shm entries: $shm_before before, $shm_after after"
}

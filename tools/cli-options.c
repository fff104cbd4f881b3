/*
 * cli-options.c - the pshm command's line: options, sizes, modes, and
 * what it says when the line is wrong.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *out)
{
	fputs("Usage: pshm [OPTION]... COMMAND [ARG]...\n"
	      "See, make and remove libpshm shared-memory segments of every backend.\n"
	      "\n"
	      "Commands:\n"
	      "  list               every segment: name, backend, size, owner, mode, creator,\n"
	      "                     whether it is alive, processes attached, state\n"
	      "  info NAME          all that is known of NAME\n"
	      "  create NAME SIZE   create NAME with SIZE usable bytes (suffix k, M or G) and\n"
	      "                     leave it for others to attach\n"
	      "  rm NAME            remove NAME\n"
	      "  clean [NAME]...    remove orphaned segments (creator dead, nothing attached),\n"
	      "                     all of them or those named\n"
	      "\n"
	      "Options:\n"
	      "  -b, --backend=B    sysv, posix or mmap; without it list, info, rm and clean\n"
	      "                     look at every backend, create uses the default one\n"
	      "  -j, --json         print JSON (list, info, clean)\n"
	      "  -n, --dry-run      clean: say what would be removed, remove nothing\n"
	      "  -m, --mode=MODE    create: octal permission bits (default 600)\n"
	      "  -h, --help         print this help and exit\n"
	      "  -V, --version      print the version and exit\n"
	      "\n"
	      "Exit status: 0 done, 1 not found or failed, 2 wrong command line.\n",
	      out);
}

int usage_error(const char *what, const char *arg)
{
	fprintf(stderr, "pshm: %s%s%s\nTry 'pshm --help'.\n", what, arg ? ": " : "", arg ? arg : "");
	return EXIT_USAGE;
}

static int parse_backend(const char *s, pshm_backend_t *out)
{
	for (pshm_backend_t b = PSHM_BACKEND_SYSV; b < PSHM_BACKEND_MAX; b++)
		if (strcmp(s, pshm_backend_name(b)) == 0) {
			*out = b;
			return 0;
		}
	return -1;
}

/* "4096", "64k", "1M", "2G": 0, or -1 if it is not a size (strtoull would
 * take leading blanks and a sign, and wrap a negative number around). */
int parse_size(const char *s, size_t *out)
{
	if (!isdigit((unsigned char)s[0]))
		return -1;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	unsigned shift = 0;
	if (*end != '\0') {
		const char *units = "kMG";
		const char *u = strchr(units, *end);
		if (u == NULL || end[1] != '\0')
			return -1;
		shift = 10 * (unsigned)(u - units + 1);
	}
	if (n > (SIZE_MAX >> shift))
		return -1;
	*out = (size_t)n << shift;
	return 0;
}

/* "600", "0640": octal permission bits, 0 to 0777; -1 otherwise. */
static int parse_mode(const char *s, pshm_mode_t *out)
{
	if (s[0] == '\0' || strspn(s, "01234567") != strlen(s))
		return -1;
	errno = 0;
	unsigned long mode = strtoul(s, NULL, 8);
	if (errno != 0 || mode > 0777)
		return -1;
	*out = (pshm_mode_t)mode;
	return 0;
}

int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
	    {"backend", required_argument, NULL, 'b'}, {"json", no_argument, NULL, 'j'},
	    {"dry-run", no_argument, NULL, 'n'},       {"mode", required_argument, NULL, 'm'},
	    {"help", no_argument, NULL, 'h'},          {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	int c;
	/* Options anywhere on the line, as git and ip take them ("--" ends
	 * them, for a name that starts with '-'). */
	while ((c = getopt_long(argc, argv, "b:jnm:hV", longs, NULL)) != -1) {
		switch (c) {
		case 'b':
			if (parse_backend(optarg, &o->backend) < 0)
				return usage_error("unknown backend (sysv, posix or mmap)", optarg);
			break;
		case 'j':
			o->json = 1;
			break;
		case 'n':
			o->dry_run = 1;
			break;
		case 'm':
			if (parse_mode(optarg, &o->mode) < 0)
				return usage_error("not an octal mode", optarg);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("pshm (libpshm) %s\n", PACKAGE_VERSION);
			exit(0);
		default:
			return usage_error("unknown option", NULL);
		}
	}
	return 0;
}

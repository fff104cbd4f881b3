/*
 * cli.c - the pshm command: see, make and clean up libpshm segments of
 * every backend, as ipcs and ipcrm do for SysV alone.  pshm(1) is its
 * manual.
 *
 * Exit status: 0 done; 1 a segment was not found or an operation failed;
 * 2 the command line is wrong.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pshm.h>

enum { EXIT_FAILED = 1, EXIT_USAGE = 2 };

struct options {
	pshm_backend_t backend; /* PSHM_BACKEND_DEFAULT: not given */
	int json;
	int dry_run;
	mode_t mode;
};

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

static int usage_error(const char *what, const char *arg)
{
	fprintf(stderr, "pshm: %s%s%s\nTry 'pshm --help'.\n", what, arg ? ": " : "", arg ? arg : "");
	return EXIT_USAGE;
}

static int failed(const char *backend, const char *name, int rc)
{
	fprintf(stderr, "pshm: %s%s%s: %s\n", backend ? backend : "", backend ? ":" : "", name,
	        pshm_strerror(rc));
	return EXIT_FAILED;
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
static int parse_size(const char *s, size_t *out)
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
static int parse_mode(const char *s, mode_t *out)
{
	if (s[0] == '\0' || strspn(s, "01234567") != strlen(s))
		return -1;
	errno = 0;
	unsigned long mode = strtoul(s, NULL, 8);
	if (errno != 0 || mode > 0777)
		return -1;
	*out = (mode_t)mode;
	return 0;
}

static pshm_attr_t attr_for(pshm_backend_t b)
{
	pshm_attr_t attr;
	pshm_attr_init(&attr);
	pshm_attr_set_backend(&attr, b);
	return attr;
}

/* The backends a command looks at: the one given, or every usable one. */
static size_t chosen_backends(const struct options *o, pshm_backend_t out[PSHM_BACKEND_MAX])
{
	if (o->backend != PSHM_BACKEND_DEFAULT) {
		out[0] = o->backend;
		return 1;
	}
	size_t n = 0;
	for (pshm_backend_t b = PSHM_BACKEND_SYSV; b < PSHM_BACKEND_MAX; b++)
		if (pshm_backend_supported(b))
			out[n++] = b;
	return n;
}

/* ------------------------------------------------------------------------ */
/* Printing what pshm_stat says                                             */

static const char *state_name(int state)
{
	switch (state) {
	case PSHM_STATE_READY:
		return "ready";
	case PSHM_STATE_HALF_MADE:
		return "half-made";
	default:
		return "foreign";
	}
}

static const char *user_name(uid_t uid, char buf[32])
{
	const struct passwd *pw = getpwuid(uid);
	if (pw != NULL)
		return pw->pw_name;
	snprintf(buf, 32, "%ld", (long)uid);
	return buf;
}

/* The length of the valid UTF-8 sequence at p (1 for ASCII), or 0 if the
 * bytes there are not one. */
static size_t utf8_sequence(const unsigned char *p)
{
	if (p[0] < 0x80)
		return 1;
	size_t n = p[0] >= 0xc2 && p[0] <= 0xdf ? 2 : p[0] >= 0xe0 && p[0] <= 0xef ? 3
	         : p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : 0;
	for (size_t k = 1; k < n; k++)
		if ((p[k] & 0xc0) != 0x80)
			return 0;
	/* No overlong forms, surrogates or code points past U+10FFFF. */
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f) ||
	    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f))
		return 0;
	return n;
}

/* s as a JSON string: quotes, backslashes and control characters
 * escaped, valid UTF-8 kept, and any other byte as U+FFFD, so that the
 * output is valid JSON whatever bytes a name holds. */
static void print_json_string(const char *s)
{
	putchar('"');
	const unsigned char *p = (const unsigned char *)s;
	while (*p != '\0') {
		size_t n = utf8_sequence(p);
		if (n > 1) {
			fwrite(p, 1, n, stdout);
			p += n;
			continue;
		}
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20)
			printf("\\u%04x", *p);
		else if (*p < 0x80)
			putchar(*p);
		else
			fputs("\\ufffd", stdout);
		p++;
	}
	putchar('"');
}

/* A JSON member "key": "value"; every object starts with its "name", so
 * every other member follows a comma. */
static void print_json_member(const char *key, const char *value)
{
	printf("%s\"%s\": ", strcmp(key, "name") == 0 ? "" : ", ", key);
	print_json_string(value);
}

static void print_json(const char *name, const pshm_info_t *i, int *first)
{
	char alive[8], attached[16], who[32];
	snprintf(alive, sizeof(alive), "%s",
	         i->creator_alive < 0 ? "null" : i->creator_alive ? "true" : "false");
	if (i->attached < 0)
		snprintf(attached, sizeof(attached), "null");
	else
		snprintf(attached, sizeof(attached), "%d", i->attached);
	printf("%s\n  {", *first ? "" : ",");
	print_json_member("name", name);
	print_json_member("backend", pshm_backend_name(i->backend));
	print_json_member("state", state_name(i->state));
	printf(", \"size\": %zu, \"object_size\": %zu, \"owner\": %ld", i->size, i->object_size,
	       (long)i->owner);
	print_json_member("owner_name", user_name(i->owner, who));
	printf(", \"mode\": \"%04o\", \"creator_pid\": %ld, \"creator_alive\": %s, "
	       "\"attached\": %s, \"age\": %lld, \"orphaned\": %s}",
	       (unsigned)i->mode, (long)i->creator_pid, alive, attached, i->age,
	       i->orphaned ? "true" : "false");
	*first = 0;
}

/* A segment that cannot be inspected (another user's, say), in JSON. */
static void print_json_unknown(const char *name, pshm_backend_t b, int rc, int *first)
{
	printf("%s\n  {", *first ? "" : ",");
	print_json_member("name", name);
	print_json_member("backend", pshm_backend_name(b));
	print_json_member("state", "unknown");
	print_json_member("error", pshm_strerror(rc));
	putchar('}');
	*first = 0;
}

static void print_row(const char *name, const pshm_info_t *i)
{
	char who[32], attached[16] = "?", pid[16] = "?";
	if (i->attached >= 0)
		snprintf(attached, sizeof(attached), "%d", i->attached);
	if (i->creator_pid > 0)
		snprintf(pid, sizeof(pid), "%ld", (long)i->creator_pid);
	printf("%-30s %-6s %12zu %-10s %04o %8s %-5s %8s %s%s\n", name, pshm_backend_name(i->backend),
	       i->size, user_name(i->owner, who), (unsigned)i->mode, pid,
	       i->creator_alive < 0 ? "?" : i->creator_alive ? "yes" : "no", attached,
	       state_name(i->state), i->orphaned ? " orphaned" : "");
}

/* A segment that cannot be inspected, as ipcs shows what it cannot read:
 * listed, and marked. */
static void print_row_unknown(const char *name, pshm_backend_t b, int rc)
{
	printf("%-30s %-6s %12s %-10s %4s %8s %-5s %8s unknown (%s)\n", name, pshm_backend_name(b), "-",
	       "-", "-", "-", "-", "-", pshm_strerror(rc));
}

static void print_info(const char *name, const pshm_info_t *i)
{
	char who[32];
	printf("name:         %s\n"
	       "backend:      %s\n"
	       "state:        %s\n"
	       "size:         %zu\n"
	       "object size:  %zu\n"
	       "owner:        %s\n"
	       "mode:         %04o\n",
	       name, pshm_backend_name(i->backend), state_name(i->state), i->size, i->object_size,
	       user_name(i->owner, who), (unsigned)i->mode);
	if (i->creator_pid > 0)
		printf("creator:      %ld (%s)\n", (long)i->creator_pid,
		       i->creator_alive < 0 ? "not known whether alive"
		       : i->creator_alive ? "alive" : "dead");
	else
		printf("creator:      unknown\n");
	if (i->attached >= 0)
		printf("attached:     %d\n", i->attached);
	else
		printf("attached:     unknown\n");
	printf("age:          %llds\n"
	       "orphaned:     %s\n",
	       i->age, i->orphaned ? "yes" : "no");
}

/* ------------------------------------------------------------------------ */
/* Commands                                                                 */

struct walk {
	const struct options *o;
	pshm_backend_t backend;
	int first;  /* JSON: no comma before the next object */
	int errors; /* names that could not be described or removed */
};

static int list_one(const char *name, void *arg)
{
	struct walk *w = arg;
	pshm_attr_t attr = attr_for(w->backend);
	pshm_info_t info;
	int rc = pshm_stat(name, &attr, &info);
	if (rc == -ENOENT)
		return 0; /* gone since it was listed */
	if (rc == -EACCES || rc == -EPERM) {
		if (w->o->json)
			print_json_unknown(name, w->backend, rc, &w->first);
		else
			print_row_unknown(name, w->backend, rc);
		return 0;
	}
	if (rc < 0) {
		w->errors++;
		failed(pshm_backend_name(w->backend), name, rc);
		return 0;
	}
	if (w->o->json)
		print_json(name, &info, &w->first);
	else
		print_row(name, &info);
	return 0;
}

/* Run fn over the segments of every chosen backend that can list them. */
static int walk_segments(const struct options *o, struct walk *w, int (*fn)(const char *, void *))
{
	pshm_backend_t backends[PSHM_BACKEND_MAX];
	size_t n = chosen_backends(o, backends);
	for (size_t i = 0; i < n; i++) {
		w->backend = backends[i];
		pshm_attr_t attr = attr_for(backends[i]);
		int rc = pshm_list(&attr, fn, w);
		if (rc < 0 && !(rc == -ENOTSUP && o->backend == PSHM_BACKEND_DEFAULT)) {
			failed(pshm_backend_name(backends[i]), "(list)", rc);
			w->errors++;
		}
	}
	return w->errors ? EXIT_FAILED : 0;
}

static int cmd_list(const struct options *o)
{
	struct walk w = {.o = o, .first = 1};
	if (o->json)
		printf("[");
	else
		printf("%-30s %-6s %12s %-10s %-4s %8s %-5s %8s %s\n", "NAME", "BACKEND", "SIZE", "OWNER",
		       "MODE", "CREATOR", "ALIVE", "ATTACHED", "STATE");
	int status = walk_segments(o, &w, list_one);
	if (o->json)
		printf("%s]\n", w.first ? "" : "\n");
	return status;
}

static int cmd_info(const struct options *o, const char *name)
{
	pshm_backend_t backends[PSHM_BACKEND_MAX];
	size_t n = chosen_backends(o, backends);
	int found = 0, first = 1, status = 0;
	if (o->json)
		printf("[");
	for (size_t i = 0; i < n; i++) {
		pshm_attr_t attr = attr_for(backends[i]);
		pshm_info_t info;
		int rc = pshm_stat(name, &attr, &info);
		if (rc == -ENOENT && o->backend == PSHM_BACKEND_DEFAULT)
			continue;
		if (rc < 0) {
			status = failed(pshm_backend_name(backends[i]), name, rc);
			continue;
		}
		if (o->json) {
			print_json(name, &info, &first);
		} else {
			if (found)
				putchar('\n');
			print_info(name, &info);
		}
		found++;
	}
	if (o->json)
		printf("%s]\n", first ? "" : "\n");
	if (!found && status == 0)
		status = failed(NULL, name, -ENOENT);
	return status;
}

static int cmd_create(const struct options *o, const char *name, const char *size_arg)
{
	size_t size;
	if (parse_size(size_arg, &size) < 0)
		return usage_error("not a size", size_arg);
	pshm_attr_t attr = attr_for(o->backend);
	pshm_attr_set_mode(&attr, o->mode);
	pshm_t *shm;
	int rc = pshm_create(&shm, name, size, &attr);
	if (rc < 0)
		return failed(pshm_backend_name(o->backend), name, rc);
	rc = pshm_detach(shm);
	return rc < 0 ? failed(pshm_backend_name(o->backend), name, rc) : 0;
}

static int cmd_rm(const struct options *o, const char *name)
{
	pshm_backend_t backends[PSHM_BACKEND_MAX];
	size_t n = chosen_backends(o, backends);
	int removed = 0, status = 0;
	for (size_t i = 0; i < n; i++) {
		pshm_attr_t attr = attr_for(backends[i]);
		int rc = pshm_remove(name, &attr);
		if (rc == 0)
			removed++;
		else if (rc != -ENOENT || o->backend != PSHM_BACKEND_DEFAULT)
			status = failed(pshm_backend_name(backends[i]), name, rc);
	}
	if (!removed && status == 0)
		status = failed(NULL, name, -ENOENT);
	return status;
}

/* Clean name on w's backend if it is an orphan: 1 if the backend has the
 * name (whatever became of it), 0 if not.  A segment that cannot be
 * inspected (another user's) is left alone, as one in use is. */
static int clean_name(struct walk *w, const char *name)
{
	pshm_attr_t attr = attr_for(w->backend);
	pshm_info_t info;
	int rc = pshm_stat(name, &attr, &info);
	if (rc == -ENOENT)
		return 0;
	if (rc == -EACCES || rc == -EPERM || (rc == 0 && !info.orphaned))
		return 1;
	if (rc == 0 && !w->o->dry_run)
		rc = pshm_remove_orphan(name, &attr);
	if (rc == -EBUSY || rc == -ENOENT)
		return 1; /* taken up, or removed, since pshm_stat looked */
	if (rc < 0) {
		w->errors++;
		failed(pshm_backend_name(w->backend), name, rc);
		return 1;
	}
	if (w->o->json) {
		printf("%s\n  {", w->first ? "" : ",");
		print_json_member("name", name);
		print_json_member("backend", pshm_backend_name(w->backend));
		printf(", \"%s\": true}", w->o->dry_run ? "would_remove" : "removed");
		w->first = 0;
	} else {
		printf("%s %s:%s\n", w->o->dry_run ? "would remove" : "removed",
		       pshm_backend_name(w->backend), name);
	}
	return 1;
}

static int clean_listed(const char *name, void *arg)
{
	clean_name(arg, name);
	return 0;
}

/* Clean the names asked for, looked up on each backend by name (a SysV
 * segment that is half-made has no name to be listed by). */
static int clean_named(const struct options *o, struct walk *w, char *const *names, int nnames)
{
	pshm_backend_t backends[PSHM_BACKEND_MAX];
	size_t n = chosen_backends(o, backends);
	int status = 0;
	for (int k = 0; k < nnames; k++) {
		int found = 0;
		for (size_t i = 0; i < n; i++) {
			w->backend = backends[i];
			found += clean_name(w, names[k]);
		}
		if (!found)
			status = failed(NULL, names[k], -ENOENT);
	}
	return w->errors ? EXIT_FAILED : status;
}

static int cmd_clean(const struct options *o, char *const *names, int nnames)
{
	struct walk w = {.o = o, .first = 1};
	if (o->json)
		printf("[");
	int status = nnames > 0 ? clean_named(o, &w, names, nnames)
	                        : walk_segments(o, &w, clean_listed);
	if (o->json)
		printf("%s]\n", w.first ? "" : "\n");
	return status;
}

/* ------------------------------------------------------------------------ */

static int parse_options(int argc, char **argv, struct options *o)
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

int main(int argc, char **argv)
{
	struct options o = {.backend = PSHM_BACKEND_DEFAULT, .mode = 0600};
	int rc = parse_options(argc, argv, &o);
	if (rc != 0)
		return rc;
	if (optind >= argc)
		return usage_error("no command", NULL);
	const char *cmd = argv[optind];
	char **args = argv + optind + 1;
	int nargs = argc - optind - 1;
	if (strcmp(cmd, "list") == 0 && nargs == 0)
		rc = cmd_list(&o);
	else if (strcmp(cmd, "info") == 0 && nargs == 1)
		rc = cmd_info(&o, args[0]);
	else if (strcmp(cmd, "create") == 0 && nargs == 2)
		rc = cmd_create(&o, args[0], args[1]);
	else if (strcmp(cmd, "rm") == 0 && nargs == 1)
		rc = cmd_rm(&o, args[0]);
	else if (strcmp(cmd, "clean") == 0)
		rc = cmd_clean(&o, args, nargs);
	else
		return usage_error("unknown command or wrong arguments", cmd);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("pshm: standard output");
		return EXIT_FAILED;
	}
	return rc;
}

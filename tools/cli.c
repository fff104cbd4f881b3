/*
 * cli.c - the pshm command: see, make and clean up libpshm segments of
 * every backend, as ipcs and ipcrm do for SysV alone.  pshm(1) is its
 * manual.  Its rooms: this one (the commands), cli-options.c (the
 * line), cli-print.c (the output), owner-*.c (user names).
 *
 * Exit status: 0 done; 1 a segment was not found or an operation failed;
 * 2 the command line is wrong.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int failed(const char *backend, const char *name, int rc)
{
	fprintf(stderr, "pshm: %s%s%s: %s\n", backend ? backend : "", backend ? ":" : "", name,
	        pshm_strerror(rc));
	return EXIT_FAILED;
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
	if (pshm_backend(shm) == PSHM_BACKEND_WINDOWS) {
		pshm_destroy(shm);
		fprintf(stderr, "pshm: windows:%s: a file mapping goes with its last handle, "
		                "and this command's would be the last\n", name);
		return EXIT_FAILED;
	}
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

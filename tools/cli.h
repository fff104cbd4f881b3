/*
 * cli.h - what the rooms of the pshm command share: its options, its
 * output, and the one thing it asks the system (who a user is).
 */
#ifndef PSHM_CLI_H
#define PSHM_CLI_H

#include <stdio.h>

#include <pshm.h>

enum { EXIT_FAILED = 1, EXIT_USAGE = 2 };

struct options {
	pshm_backend_t backend; /* PSHM_BACKEND_DEFAULT: not given */
	int json;
	int dry_run;
	pshm_mode_t mode;
};

/* cli-options.c */

/* Read the options into o (they may come anywhere on the line): 0, or
 * EXIT_USAGE once said why; --help and --version exit here. */
int parse_options(int argc, char **argv, struct options *o);

/* Say what is wrong with the line (what, and arg if not NULL): EXIT_USAGE. */
int usage_error(const char *what, const char *arg);

/* "4096", "64k", "1M", "2G": 0, or -1 if s is not a size. */
int parse_size(const char *s, size_t *out);

/* cli-print.c: what pshm_stat says of name, as a table row, a JSON object
 * (*first: no comma before it; cleared), or whole; and of a segment that
 * could not be inspected (rc). */
void print_row(const char *name, const pshm_info_t *i);
void print_row_unknown(const char *name, pshm_backend_t b, int rc);
void print_json(const char *name, const pshm_info_t *i, int *first);
void print_json_unknown(const char *name, pshm_backend_t b, int rc, int *first);
void print_info(const char *name, const pshm_info_t *i);

/* A JSON member "key": "value" (after a comma unless key is "name", which
 * starts every object). */
void print_json_member(const char *key, const char *value);

/* owner-posix.c, owner-win.c: the name of user uid, else its number in buf. */
const char *cli_user_name(pshm_uid_t uid, char buf[32]);

#endif /* PSHM_CLI_H */

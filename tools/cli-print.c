/*
 * cli-print.c - the pshm command's output: what pshm_stat says of a
 * segment, as a table row, as JSON (valid whatever bytes a name holds), or
 * whole (pshm info).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"

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
void print_json_member(const char *key, const char *value)
{
	printf("%s\"%s\": ", strcmp(key, "name") == 0 ? "" : ", ", key);
	print_json_string(value);
}

void print_json(const char *name, const pshm_info_t *i, int *first)
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
	print_json_member("owner_name", cli_user_name(i->owner, who));
	printf(", \"mode\": \"%04o\", \"creator_pid\": %ld, \"creator_alive\": %s, "
	       "\"attached\": %s, \"age\": %lld, \"orphaned\": %s}",
	       (unsigned)i->mode, (long)i->creator_pid, alive, attached, i->age,
	       i->orphaned ? "true" : "false");
	*first = 0;
}

/* A segment that cannot be inspected (another user's, say), in JSON. */
void print_json_unknown(const char *name, pshm_backend_t b, int rc, int *first)
{
	printf("%s\n  {", *first ? "" : ",");
	print_json_member("name", name);
	print_json_member("backend", pshm_backend_name(b));
	print_json_member("state", "unknown");
	print_json_member("error", pshm_strerror(rc));
	putchar('}');
	*first = 0;
}

void print_row(const char *name, const pshm_info_t *i)
{
	char who[32], attached[16] = "?", pid[16] = "?";
	if (i->attached >= 0)
		snprintf(attached, sizeof(attached), "%d", i->attached);
	if (i->creator_pid > 0)
		snprintf(pid, sizeof(pid), "%ld", (long)i->creator_pid);
	printf("%-30s %-6s %12zu %-10s %04o %8s %-5s %8s %s%s\n", name, pshm_backend_name(i->backend),
	       i->size, cli_user_name(i->owner, who), (unsigned)i->mode, pid,
	       i->creator_alive < 0 ? "?" : i->creator_alive ? "yes" : "no", attached,
	       state_name(i->state), i->orphaned ? " orphaned" : "");
}

/* A segment that cannot be inspected, as ipcs shows what it cannot read:
 * listed, and marked. */
void print_row_unknown(const char *name, pshm_backend_t b, int rc)
{
	printf("%-30s %-6s %12s %-10s %4s %8s %-5s %8s unknown (%s)\n", name, pshm_backend_name(b), "-",
	       "-", "-", "-", "-", "-", pshm_strerror(rc));
}

void print_info(const char *name, const pshm_info_t *i)
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
	       cli_user_name(i->owner, who), (unsigned)i->mode);
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

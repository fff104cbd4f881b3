/*
 * owner-posix.c - who a user is, on systems with a user database.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <pwd.h>
#include <stdio.h>

#include "cli.h"

const char *cli_user_name(pshm_uid_t uid, char buf[32])
{
	const struct passwd *pw = getpwuid(uid);
	if (pw != NULL)
		return pw->pw_name;
	snprintf(buf, 32, "%ld", (long)uid);
	return buf;
}

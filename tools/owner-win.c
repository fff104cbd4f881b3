/*
 * owner-win.c - who a user is, on Windows: users there are SIDs, which
 * libpshm does not report (every owner reads 0), so nobody is named.
 */
#include "config.h"

#include "cli.h"

const char *cli_user_name(pshm_uid_t uid, char buf[32])
{
	(void)uid, (void)buf;
	return "-";
}

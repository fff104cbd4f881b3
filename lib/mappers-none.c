/*
 * mappers-none.c - where there is no /proc to read, nobody can tell how
 * many processes map a file: pshm_stat says "not known".
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include "internal.h"

int pshm__count_mappers(dev_t dev, ino_t ino, int others_may_map)
{
	(void)dev;
	(void)ino;
	(void)others_may_map;
	return -1;
}

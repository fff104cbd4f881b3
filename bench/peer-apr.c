/*
 * peer-apr.c - Apache APR's apr_shm, through its public API, for
 * bench/peers (see peer.h).  Anonymous segments are apr_shm_create with no
 * file name; named ones take a file name, which other processes give to
 * apr_shm_attach.  Each cycle has its own pool, as a long-lived server
 * would, so that the pool does not grow.
 */
#define _POSIX_C_SOURCE 200809L
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_shm.h>
#include <stdio.h>

#include "peer.h"

static apr_pool_t *root;

static int failed(const char *what, apr_status_t st)
{
	char buf[256];
	fprintf(stderr, "peer-apr: %s: %s\n", what, apr_strerror(st, buf, sizeof(buf)));
	return -1;
}

static void *make(size_t len, void **handle)
{
	apr_shm_t *shm;
	apr_status_t st = apr_shm_create(&shm, len, NULL, root);
	if (st != APR_SUCCESS) {
		failed("apr_shm_create", st);
		return NULL;
	}
	*handle = shm;
	return apr_shm_baseaddr_get(shm);
}

static void unmake(void *handle)
{
	apr_shm_destroy(handle);
}

static int named_cycle(const char *name, size_t len)
{
	char path[128];
	snprintf(path, sizeof(path), "/tmp/%s", name);
	apr_pool_t *pool;
	apr_shm_t *shm, *other;
	apr_status_t st = apr_pool_create(&pool, root);
	if (st != APR_SUCCESS)
		return failed("apr_pool_create", st);
	int rc = 0;
	st = apr_shm_create(&shm, len, path, pool);
	if (st != APR_SUCCESS) {
		rc = failed("apr_shm_create", st);
	} else {
		st = apr_shm_attach(&other, path, pool);
		if (st != APR_SUCCESS)
			rc = failed("apr_shm_attach", st);
		else
			apr_shm_detach(other);
		apr_shm_destroy(shm);
	}
	apr_pool_destroy(pool);
	return rc;
}

static int anonymous_cycle(size_t len)
{
	apr_pool_t *pool;
	apr_shm_t *shm;
	apr_status_t st = apr_pool_create(&pool, root);
	if (st != APR_SUCCESS)
		return failed("apr_pool_create", st);
	st = apr_shm_create(&shm, len, NULL, pool);
	int rc = st == APR_SUCCESS ? 0 : failed("apr_shm_create", st);
	if (rc == 0)
		apr_shm_destroy(shm);
	apr_pool_destroy(pool);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct peer_ops ops = {.label = "APR apr_shm", .make = make, .unmake = unmake,
	                                    .named_cycle = named_cycle,
	                                    .anonymous_cycle = anonymous_cycle};
	if (apr_initialize() != APR_SUCCESS || apr_pool_create(&root, NULL) != APR_SUCCESS) {
		fprintf(stderr, "peer-apr: cannot initialize APR\n");
		return 1;
	}
	int rc = peer_main(argc, argv, &ops);
	apr_pool_destroy(root);
	apr_terminate();
	return rc;
}

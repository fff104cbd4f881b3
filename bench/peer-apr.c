/*
 * peer-apr.c - Apache APR's apr_shm, through its public API, for
 * bench/peers (see peer.h).  Anonymous segments are apr_shm_create with no
 * file name; named ones take a file name, which other processes give to
 * apr_shm_attach.  Each cycle has its own pool, as a long-lived server
 * would, so that the pool does not grow.  Its allocator is apr-util's
 * apr_rmm over an anonymous apr_shm, locked by an apr_proc_mutex of APR's
 * default kind (apr_rmm leaves the lock to its caller).
 */
#define _POSIX_C_SOURCE 200809L
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_proc_mutex.h>
#include <apr_rmm.h>
#include <apr_shm.h>
#include <stdint.h>
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

/* apr_rmm's parts: the memory, its lock, the allocator's handle. */
struct rmm_heap {
	apr_pool_t *pool;
	apr_shm_t *shm;
	apr_proc_mutex_t *mutex;
	apr_anylock_t lock;
	apr_rmm_t *rmm;
};

static void *heap_make(size_t len)
{
	static struct rmm_heap h;
	apr_status_t st = apr_pool_create(&h.pool, root);
	if (st == APR_SUCCESS)
		st = apr_shm_create(&h.shm, len, NULL, h.pool);
	if (st == APR_SUCCESS)
		st = apr_proc_mutex_create(&h.mutex, NULL, APR_LOCK_DEFAULT, h.pool);
	h.lock.type = apr_anylock_procmutex;
	h.lock.lock.pm = h.mutex;
	if (st == APR_SUCCESS)
		st = apr_rmm_init(&h.rmm, &h.lock, apr_shm_baseaddr_get(h.shm), len, h.pool);
	if (st != APR_SUCCESS) {
		failed("apr_rmm_init", st);
		return NULL;
	}
	return &h;
}

static void heap_unmake(void *heap)
{
	struct rmm_heap *h = heap;
	apr_rmm_destroy(h->rmm);
	apr_pool_destroy(h->pool);
}

static void *heap_alloc(void *heap, size_t size, uintptr_t *token)
{
	struct rmm_heap *h = heap;
	apr_rmm_off_t off = apr_rmm_malloc(h->rmm, size);
	*token = (uintptr_t)off;
	return off == 0 ? NULL : apr_rmm_addr_get(h->rmm, off);
}

static void heap_free(void *heap, uintptr_t token)
{
	struct rmm_heap *h = heap;
	apr_rmm_free(h->rmm, (apr_rmm_off_t)token);
}

int main(int argc, char **argv)
{
	static const struct peer_ops ops = {.label = "APR apr_shm", .make = make, .unmake = unmake,
	                                    .named_cycle = named_cycle,
	                                    .anonymous_cycle = anonymous_cycle,
	                                    .heap_label = "APR apr_rmm", .heap_make = heap_make,
	                                    .heap_unmake = heap_unmake, .heap_alloc = heap_alloc,
	                                    .heap_free = heap_free};
	if (apr_initialize() != APR_SUCCESS || apr_pool_create(&root, NULL) != APR_SUCCESS) {
		fprintf(stderr, "peer-apr: cannot initialize APR\n");
		return 1;
	}
	int rc = peer_main(argc, argv, &ops);
	apr_pool_destroy(root);
	apr_terminate();
	return rc;
}

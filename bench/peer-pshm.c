/*
 * peer-pshm.c - libpshm itself, and private memory, run by bench/peers the
 * same way as the peer libraries (see peer.h), so that every row of its
 * tables is measured alike:
 *
 *     peer-pshm private access|alloc ...    malloc'd memory, glibc's malloc
 *                                           (the baselines)
 *     peer-pshm BACKEND[,noreserve] access|lifecycle|alloc ...
 *
 * The alloc case's heap is a PSHM_MANAGED segment (not with noreserve).
 */
#define _POSIX_C_SOURCE 200809L
#include <pshm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peer.h"

static pshm_attr_t attr;        /* for create: the backend and flags */
static pshm_attr_t attach_attr; /* for attach: the backend alone */

static void *make_private(size_t len, void **handle)
{
	*handle = malloc(len);
	if (*handle == NULL)
		perror("peer-pshm: malloc");
	return *handle;
}

static int no_cycle(size_t len)
{
	(void)len;
	return PEER_CANNOT;
}

static void *make(size_t len, void **handle)
{
	pshm_t *shm;
	int rc = pshm_create(&shm, NULL, len, &attr);
	if (rc < 0) {
		fprintf(stderr, "peer-pshm: pshm_create: %s\n", pshm_strerror(rc));
		return NULL;
	}
	*handle = shm;
	return pshm_addr(shm);
}

static void unmake(void *handle)
{
	pshm_destroy(handle);
}

static int failed(const char *what, int rc)
{
	fprintf(stderr, "peer-pshm: %s: %s\n", what, pshm_strerror(rc));
	return -1;
}

static int named_cycle(const char *name, size_t len)
{
	pshm_t *shm, *other;
	int rc = pshm_create(&shm, name, len, &attr);
	if (rc < 0)
		return failed("pshm_create", rc);
	rc = pshm_attach(&other, name, &attach_attr);
	if (rc < 0) {
		pshm_destroy(shm);
		return failed("pshm_attach", rc);
	}
	pshm_detach(other);
	rc = pshm_destroy(shm);
	return rc < 0 ? failed("pshm_destroy", rc) : 0;
}

static int anonymous_cycle(size_t len)
{
	pshm_t *shm;
	int rc = pshm_create(&shm, NULL, len, &attr);
	if (rc < 0)
		return failed("pshm_create", rc);
	pshm_destroy(shm);
	return 0;
}

static void *private_heap_make(size_t len)
{
	(void)len;
	return &attr; /* not used: malloc's heap is each process's own */
}

static void private_heap_unmake(void *heap)
{
	(void)heap;
}

static void *private_heap_alloc(void *heap, size_t size, uintptr_t *token)
{
	(void)heap;
	void *p = malloc(size);
	*token = (uintptr_t)p;
	return p;
}

static void private_heap_free(void *heap, uintptr_t token)
{
	(void)heap;
	free((void *)token);
}

static void *heap_make(size_t len)
{
	pshm_attr_t managed = attr;
	pshm_t *shm = NULL;
	int rc = pshm_attr_set_flags(&managed, PSHM_MANAGED);
	if (rc == 0)
		rc = pshm_create(&shm, NULL, len, &managed);
	if (rc < 0) {
		fprintf(stderr, "peer-pshm: pshm_create(PSHM_MANAGED): %s\n", pshm_strerror(rc));
		return NULL;
	}
	return shm;
}

static void heap_unmake(void *heap)
{
	pshm_destroy(heap);
}

static void *heap_alloc(void *heap, size_t size, uintptr_t *token)
{
	pshm_off_t off;
	if (pshm_alloc(heap, size, &off) != 0)
		return NULL;
	*token = (uintptr_t)off;
	return (char *)pshm_addr(heap) + off;
}

static void heap_free(void *heap, uintptr_t token)
{
	pshm_free(heap, (pshm_off_t)token);
}

/* "posix" or "posix,noreserve" into attr and a row label. */
static int parse_variant(const char *variant, char *label, size_t len)
{
	char backend[16];
	snprintf(backend, sizeof(backend), "%.*s", (int)strcspn(variant, ","), variant);
	int noreserve = strcmp(variant + strlen(backend), ",noreserve") == 0;
	if (!noreserve && variant[strlen(backend)] != '\0')
		return -1;
	pshm_attr_init(&attr);
	for (pshm_backend_t b = PSHM_BACKEND_SYSV; b < PSHM_BACKEND_MAX; b++)
		if (strcmp(backend, pshm_backend_name(b)) == 0) {
			if (pshm_attr_set_backend(&attr, b) < 0)
				return -1;
			attach_attr = attr;
			if (noreserve)
				pshm_attr_set_flags(&attr, PSHM_NORESERVE);
			snprintf(label, len, "libpshm %s%s", backend,
			         noreserve ? ", PSHM_NORESERVE" : "");
			return 0;
		}
	return -1;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s private|BACKEND[,noreserve] ...\n", argv[0]);
		return 2;
	}
	char label[64], heap_label[80];
	struct peer_ops ops = {.label = label, .make = make, .unmake = unmake,
	                       .named_cycle = named_cycle, .anonymous_cycle = anonymous_cycle,
	                       .heap_label = heap_label, .heap_make = heap_make,
	                       .heap_unmake = heap_unmake, .heap_alloc = heap_alloc,
	                       .heap_free = heap_free};
	if (strcmp(argv[1], "private") == 0) {
		ops = (struct peer_ops){.label = "private malloc", .make = make_private,
		                        .unmake = free, .anonymous_cycle = no_cycle,
		                        .cannot = "not shared memory",
		                        .heap_label = "glibc malloc (private)",
		                        .heap_make = private_heap_make,
		                        .heap_unmake = private_heap_unmake,
		                        .heap_alloc = private_heap_alloc,
		                        .heap_free = private_heap_free};
	} else if (parse_variant(argv[1], label, sizeof(label)) < 0) {
		fprintf(stderr, "%s: no such backend: %s\n", argv[0], argv[1]);
		return 2;
	}
	snprintf(heap_label, sizeof(heap_label), "%s (pshm_alloc)", label);
	argv[1] = argv[0];
	return peer_main(argc - 1, argv + 1, &ops);
}

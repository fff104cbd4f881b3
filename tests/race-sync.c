/*
 * race-sync.c - the synchronization calls between the threads of one
 * process, where a race detector can see every access: `make check` runs it
 * as a plain test, and `make check-tsan` runs it built with ThreadSanitizer
 * (Criterion's runner cannot start under TSan, so this is a plain program).
 * The same scenarios across processes are in test-sync.c.
 *
 * Prints one line per failed check and "N passed, M failed"; exit 0 when
 * nothing failed.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pshm.h>

#define THREADS 8
#define ADDS 100000
#define RECORDS 100000
#define RING 64

static int passed, failed;

#define CHECK(cond, ...)                                             \
	do {                                                         \
		if (cond) {                                          \
			passed++;                                    \
		} else {                                             \
			failed++;                                    \
			printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			printf(__VA_ARGS__);                         \
			printf("\n");                                \
		}                                                    \
	} while (0)

struct shared {
	pshm_mutex_t mutex;
	pshm_cond_t not_empty;
	pshm_cond_t not_full;
	uint64_t counter;
	uint64_t head, tail, received, out_of_order;
	int flag;
	int waiting;
	uint64_t ring[RING];
};

static void *add(void *arg)
{
	struct shared *s = arg;
	for (int i = 0; i < ADDS; i++) {
		if (pshm_mutex_lock(&s->mutex) != 0)
			return (void *)1;
		s->counter++;
		if (pshm_mutex_unlock(&s->mutex) != 0)
			return (void *)2;
	}
	return NULL;
}

static void *produce(void *arg)
{
	struct shared *s = arg;
	for (uint64_t seq = 0; seq < RECORDS; seq++) {
		if (pshm_mutex_lock(&s->mutex) != 0)
			return (void *)1;
		while (s->head - s->tail == RING)
			if (pshm_cond_wait(&s->not_full, &s->mutex) != 0)
				return (void *)2;
		s->ring[s->head++ % RING] = seq;
		pshm_cond_signal(&s->not_empty);
		pshm_mutex_unlock(&s->mutex);
	}
	return NULL;
}

static void *consume(void *arg)
{
	struct shared *s = arg;
	for (uint64_t want = 0; want < RECORDS; want++) {
		if (pshm_mutex_lock(&s->mutex) != 0)
			return (void *)1;
		while (s->head == s->tail)
			if (pshm_cond_timedwait(&s->not_empty, &s->mutex, 60000) < 0)
				return (void *)2;
		s->out_of_order += s->ring[s->tail++ % RING] != want;
		s->received++;
		pshm_cond_signal(&s->not_full);
		pshm_mutex_unlock(&s->mutex);
	}
	return NULL;
}

/* Wait for the flag: NULL once seen, else the code that stopped the wait
 * (as an intptr_t: a lock or a wait that failed). */
static void *await_flag(void *arg)
{
	struct shared *s = arg;
	int rc = pshm_mutex_lock(&s->mutex);
	if (rc != 0)
		return (void *)(intptr_t)rc;
	s->waiting++;
	while (!s->flag && rc == 0)
		rc = pshm_cond_timedwait(&s->not_empty, &s->mutex, 60000);
	pshm_mutex_unlock(&s->mutex);
	return rc == 0 ? NULL : (void *)(intptr_t)rc;
}

/* Each thread attaches the named segment with its own handle (a handle is
 * for one thread at a time) and counts under the header lock. */
struct header_job {
	const char *name;
	pshm_backend_t backend;
};

static void *add_under_header_lock(void *arg)
{
	const struct header_job *job = arg;
	pshm_attr_t attr;
	pshm_attr_init(&attr);
	pshm_attr_set_backend(&attr, job->backend);
	pshm_t *shm;
	if (pshm_attach(&shm, job->name, &attr) != 0)
		return (void *)1;
	uint64_t *counter = pshm_addr(shm);
	for (int i = 0; i < ADDS / 10; i++) {
		if (pshm_lock(shm) != 0)
			return (void *)2;
		++*counter;
		pshm_unlock(shm);
	}
	return (void *)(intptr_t)(pshm_detach(shm) == 0 ? 0 : 3);
}

static int run(void *(*fn)(void *), void *arg, int n)
{
	pthread_t threads[THREADS];
	int bad = 0;
	for (int i = 0; i < n; i++)
		if (pthread_create(&threads[i], NULL, fn, arg) != 0)
			return -1;
	for (int i = 0; i < n; i++) {
		void *ret;
		pthread_join(threads[i], &ret);
		bad += ret != NULL;
	}
	return bad;
}

/* Mutex counts, the producer and consumer, and a broadcast, on s. */
static void on_shared(struct shared *s, const char *bn)
{
	CHECK(run(add, s, THREADS) == 0, "%s: a thread failed to lock", bn);
	CHECK(s->counter == (uint64_t)THREADS * ADDS, "%s: counter %llu", bn,
	      (unsigned long long)s->counter);

	pthread_t producer, consumer;
	void *pr = NULL, *cr = NULL;
	CHECK(pthread_create(&consumer, NULL, consume, s) == 0, "%s", bn);
	CHECK(pthread_create(&producer, NULL, produce, s) == 0, "%s", bn);
	pthread_join(producer, &pr);
	pthread_join(consumer, &cr);
	CHECK(pr == NULL && cr == NULL, "%s: producer or consumer failed", bn);
	CHECK(s->received == RECORDS && s->out_of_order == 0, "%s: %llu received, %llu out of order",
	      bn, (unsigned long long)s->received, (unsigned long long)s->out_of_order);

	pthread_t waiters[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&waiters[i], NULL, await_flag, s);
	/* Look every millisecond: a loop that took the mutex back at once
	 * could keep the last waiter from it (under valgrind, whose threads
	 * take turns, for longer than the others' 60 s waits). */
	for (int waiting = 0; waiting < 4;) {
		pshm_mutex_lock(&s->mutex);
		waiting = s->waiting;
		pshm_mutex_unlock(&s->mutex);
		if (waiting < 4)
			nanosleep(&(struct timespec){0, 1000000}, NULL);
	}
	pshm_mutex_lock(&s->mutex);
	s->flag = 1;
	CHECK(pshm_cond_broadcast(&s->not_empty) == 0, "%s", bn);
	pshm_mutex_unlock(&s->mutex);
	int woken = 0, last = 0;
	for (int i = 0; i < 4; i++) {
		void *ret;
		pthread_join(waiters[i], &ret);
		woken += ret == NULL;
		last = ret == NULL ? last : (int)(intptr_t)ret;
	}
	CHECK(woken == 4, "%s: %d of 4 waiters saw the broadcast (another: %s)", bn, woken,
	      pshm_strerror(last));
}

/* The header lock of a named segment, shared by threads that attach it. */
static void on_header_lock(pshm_backend_t b, const pshm_attr_t *attr, const char *bn)
{
	char name[PSHM_NAME_MAX + 1];
	snprintf(name, sizeof(name), "tst-%ld-race-%s", (long)getpid(), bn);
	pshm_t *shm;
	int rc = pshm_create(&shm, name, 4096, attr);
	CHECK(rc == 0, "%s: create %s: %s", bn, name, pshm_strerror(rc));
	if (rc != 0)
		return;
	struct header_job job = {name, b};
	CHECK(run(add_under_header_lock, &job, 4) == 0, "%s: a header-lock thread failed", bn);
	uint64_t *counter = pshm_addr(shm);
	CHECK(*counter == (uint64_t)4 * (ADDS / 10), "%s: header-lock counter %llu", bn,
	      (unsigned long long)*counter);
	CHECK(pshm_destroy(shm) == 0, "%s", bn);
}

static void on_backend(pshm_backend_t b)
{
	const char *bn = pshm_backend_name(b);
	pshm_attr_t attr;
	pshm_attr_init(&attr);
	pshm_attr_set_backend(&attr, b);
	pshm_t *shm;
	int rc = pshm_create(&shm, NULL, sizeof(struct shared), &attr);
	CHECK(rc == 0, "%s: create: %s", bn, pshm_strerror(rc));
	if (rc != 0)
		return;
	struct shared *s = pshm_addr(shm);
	CHECK(pshm_mutex_init(&s->mutex) == 0, "%s", bn);
	CHECK(pshm_cond_init(&s->not_empty) == 0, "%s", bn);
	CHECK(pshm_cond_init(&s->not_full) == 0, "%s", bn);
	on_shared(s, bn);
	CHECK(pshm_cond_destroy(&s->not_full) == 0, "%s", bn);
	CHECK(pshm_cond_destroy(&s->not_empty) == 0, "%s", bn);
	CHECK(pshm_mutex_destroy(&s->mutex) == 0, "%s", bn);
	CHECK(pshm_destroy(shm) == 0, "%s", bn);
	on_header_lock(b, &attr, bn);
}

int main(void)
{
	for (pshm_backend_t b = PSHM_BACKEND_SYSV; b < PSHM_BACKEND_MAX; b++)
		if (pshm_backend_supported(b))
			on_backend(b);
	printf("%d passed, %d failed\n", passed, failed);
	return failed == 0 && passed > 0 ? 0 : 1;
}

/*
 * header.c - the segment header: written by pshm_create, judged by every
 * call that finds a segment by name.  The judgement errs towards "not
 * ours": only what pshm_create itself can leave behind is half-made, and
 * anything else is foreign, which no call of libpshm ever removes.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <string.h>

#include "internal.h"

void pshm__header_fill(struct pshm__header *hdr, const char *name, size_t size,
                       pshm_backend_t backend, uint32_t flags)
{
	memset(hdr, 0, sizeof(*hdr));
	hdr->creator_pidns = pshm__pid_namespace();
	hdr->creator_pid = (int64_t)pshm__self_pid();
	hdr->version = PSHM__FORMAT_VERSION;
	hdr->magic = PSHM__MAGIC;
	hdr->usable_size = size;
	hdr->backend = (uint32_t)backend;
	hdr->flags = flags;
	if (name != NULL)
		memcpy(hdr->name, name, strlen(name));
}

/*
 * Nobody writes an anonymous segment's header when it is made (its lock
 * is made at its first use): a receiver of its descriptor checks one.  Racing
 * labellers write the same bytes (no creator: pid 0, unknown namespace),
 * each before its READY, so the header a receiver reads is whole.
 */
void pshm__header_label(struct pshm__header *hdr, size_t size, pshm_backend_t backend,
                        uint32_t flags)
{
	if (atomic_load_explicit(&hdr->state, memory_order_acquire) == PSHM__STATE_READY)
		return;
	struct pshm__header fields;
	pshm__header_fill(&fields, NULL, size, backend, flags);
	fields.creator_pid = 0;
	fields.creator_pidns = 0;
	memcpy((char *)hdr + PSHM__HEADER_FIELDS_START,
	       (const char *)&fields + PSHM__HEADER_FIELDS_START,
	       PSHM__HEADER_FIELDS_END - PSHM__HEADER_FIELDS_START);
	atomic_store_explicit(&hdr->state, PSHM__STATE_READY, memory_order_release);
}

static int all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

/* Whether each byte of have (n bytes) is zero or the byte of want at its
 * place: what a field looks like while another process writes it. */
static int zero_or(const void *have, const void *want, size_t n)
{
	const unsigned char *h = have, *w = want;
	for (size_t i = 0; i < n; i++)
		if (h[i] != 0 && h[i] != w[i])
			return 0;
	return 1;
}

/* The name field of a half-made segment: zeros, or name's bytes where its
 * creator has copied them already (NULL: any name, NUL-terminated). */
static int half_written_name(const char field[PSHM_NAME_MAX + 2], const char *name)
{
	if (name == NULL)
		return field[PSHM_NAME_MAX] == '\0' && field[PSHM_NAME_MAX + 1] == '\0';
	char want[PSHM_NAME_MAX + 2] = {0};
	memcpy(want, name, strlen(name) + 1); /* names are checked: it fits */
	return zero_or(field, want, sizeof(want));
}

/*
 * Whether head, copied from an object of len bytes whose state word is 0,
 * is what pshm_create leaves while it works: a size it makes (whole pages),
 * each field zero or what it writes there (copied while it writes), and
 * zeros where it writes none.  The lock's bytes are pthread's own.  A
 * managed segment's creator makes the heap after every other field (flags
 * PSHM__HEADER_MANAGED, and the magic, last of them written in order, are
 * there): the usable bytes may then hold anything.
 */
static int looks_half_made(const struct pshm__head *head, size_t len, const char *name,
                           pshm_backend_t backend)
{
	const struct pshm__header *hdr = &head->u.hdr;
	const uint64_t magic = PSHM__MAGIC;
	const uint32_t version = PSHM__FORMAT_VERSION, oldest = PSHM__FORMAT_OLDEST;
	const uint32_t id = (uint32_t)backend;
	if (len % pshm__page_size() != 0 || head->have < PSHM__HEADER_SIZE)
		return 0;
	if ((!zero_or(&hdr->version, &version, sizeof(version)) &&
	     !zero_or(&hdr->version, &oldest, sizeof(oldest))) ||
	    !zero_or(&hdr->magic, &magic, sizeof(magic)) ||
	    !zero_or(&hdr->backend, &id, sizeof(id)) ||
	    (hdr->flags != 0 && hdr->flags != PSHM__HEADER_MANAGED))
		return 0;
	if (hdr->usable_size > len - PSHM__HEADER_SIZE || hdr->creator_pid < 0 ||
	    hdr->creator_pid != (pid_t)hdr->creator_pid)
		return 0;
	if (!half_written_name(hdr->name, name) || !all_zero(hdr->lock_guard, sizeof(hdr->lock_guard)))
		return 0;
	size_t after_lock = offsetof(struct pshm__header, lock) + sizeof(hdr->lock);
	int heap_in_making = hdr->flags == PSHM__HEADER_MANAGED && hdr->magic == PSHM__MAGIC &&
	                     hdr->usable_size != 0;
	size_t end = heap_in_making ? PSHM__HEADER_SIZE : head->have;
	return all_zero(head->u.bytes + after_lock, end - after_lock);
}

int pshm__header_check(const struct pshm__head *head, size_t len, const char *name,
                       pshm_backend_t backend)
{
	if (len == 0)
		return -EAGAIN; /* made, and not sized yet */
	if (len < PSHM__HEADER_SIZE || head->have < PSHM__HEADER_SIZE)
		return PSHM_ENOTPSHM;
	const struct pshm__header *hdr = &head->u.hdr;
	/* const-cast: an atomic load does not write, but C11 wants non-const. */
	uint32_t state = atomic_load_explicit((_Atomic uint32_t *)&hdr->state, memory_order_acquire);
	if (state == PSHM__STATE_CREATING)
		return looks_half_made(head, len, name, backend) ? -EAGAIN : PSHM_ENOTPSHM;
	if (state != PSHM__STATE_READY || hdr->magic != PSHM__MAGIC)
		return PSHM_ENOTPSHM;
	if (hdr->version < PSHM__FORMAT_OLDEST || hdr->version > PSHM__FORMAT_VERSION)
		return PSHM_EVERSION;
	if (hdr->usable_size == 0 || hdr->usable_size > len - PSHM__HEADER_SIZE ||
	    hdr->name[PSHM_NAME_MAX] != '\0')
		return PSHM_ECORRUPT;
	if (name != NULL && strcmp(hdr->name, name) != 0)
		return PSHM_ECOLLISION;
	return 0;
}

int pshm__look_again(long long *until)
{
	long long now = pshm__monotonic_ns();
	if (*until == 0)
		*until = now + 100LL * 1000 * 1000;
	return now < *until;
}

int pshm__header_accept(const struct pshm__head *head, size_t len, pshm_uid_t owner,
                        const char *name, pshm_backend_t backend, unsigned flags)
{
	if (owner != pshm__effective_user() && !(flags & PSHM_ANY_OWNER))
		return PSHM_EOWNER;
	return pshm__header_check(head, len, name, backend);
}

int pshm__header_copy(const void *addr, size_t len, struct pshm__head *head)
{
	const size_t fields = PSHM__HEADER_FIELDS_END;
	const size_t after_lock = offsetof(struct pshm__header, lock) + sizeof(pshm_mutex_t);
	const unsigned char *from = addr;
	memset(head, 0, sizeof(*head));
	head->have = len < PSHM__HEAD_BYTES ? len : PSHM__HEAD_BYTES;
	if (head->have < sizeof(uint32_t)) {
		memcpy(head->u.bytes, from, head->have);
		return 0;
	}
	const _Atomic uint32_t *state = addr;
	uint32_t before = atomic_load_explicit(state, memory_order_acquire);
	memcpy(head->u.bytes, from, head->have < fields ? head->have : fields);
	if (before == PSHM__STATE_CREATING && head->have > after_lock)
		memcpy(head->u.bytes + after_lock, from + after_lock, head->have - after_lock);
	atomic_thread_fence(memory_order_acquire); /* the copy's reads come first */
	uint32_t after = atomic_load_explicit(state, memory_order_relaxed);
	return before == after ? 0 : -EAGAIN;
}

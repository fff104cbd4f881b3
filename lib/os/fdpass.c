/*
 * fdpass.c - a descriptor and a few bytes over a Unix socket (SCM_RIGHTS).
 * What the other end sends may be anything: descriptors beyond the one
 * expected are closed, never leaked.
 */
#define _GNU_SOURCE /* MSG_CMSG_CLOEXEC on glibc */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "os/sys.h"

/* Where the system cannot be told not to raise SIGPIPE (macOS has only a
 * socket option, which would change the caller's socket) or to make the
 * received descriptors close-on-exec at once (then fcntl does it after). */
#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif
#ifndef MSG_CMSG_CLOEXEC
#define MSG_CMSG_CLOEXEC 0
#endif

/* Room for a few descriptors, so that a sender that sends more than one
 * has them closed here rather than dropped unseen. */
#define FDS_ROOM 4

int pshm__send_fd(int sock, const void *msg, size_t len, int fd)
{
	union {
		struct cmsghdr align;
		char space[CMSG_SPACE(sizeof(int))];
	} control;
	memset(&control, 0, sizeof(control));
	struct iovec iov = {.iov_base = (void *)msg, .iov_len = len};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.space,
	                   .msg_controllen = sizeof(control.space)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	ssize_t n;
	do
		n = sendmsg(sock, &m, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return pshm__neg_errno();
	return (size_t)n == len ? 0 : -EPIPE; /* a datagram cut short */
}

/* Keep the first descriptor of m's SCM_RIGHTS messages in *fd, close the
 * rest. */
static void take_descriptors(struct msghdr *m, int *fd)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c != NULL; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < count; i++) {
			int got;
			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*fd < 0)
				*fd = got;
			else
				close(got);
		}
	}
}

/* Whether a read of nothing from sock meant that its peer closed (the end
 * of a stream, a connection hung up) rather than an empty datagram, which
 * anybody who can send to sock can send. */
static int peer_closed(int sock)
{
	int type = 0;
	socklen_t len = sizeof(type);
	if (getsockopt(sock, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type == SOCK_STREAM)
		return 1;
	if (type != SOCK_SEQPACKET)
		return 0;
	struct pollfd p = {.fd = sock, .events = POLLIN};
	int n;
	do
		n = poll(&p, 1, 0);
	while (n < 0 && errno == EINTR);
	return n > 0 && (p.revents & POLLHUP);
}

ssize_t pshm__recv_fd(int sock, void *buf, size_t len, int *fd)
{
	union {
		struct cmsghdr align;
		char space[CMSG_SPACE(sizeof(int) * FDS_ROOM)];
	} control;
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.space,
	                   .msg_controllen = sizeof(control.space)};
	*fd = -1;
	ssize_t n;
	do
		n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return pshm__neg_errno();
	take_descriptors(&m, fd);
	int rc = 0;
	if (*fd >= 0 && MSG_CMSG_CLOEXEC == 0 && fcntl(*fd, F_SETFD, FD_CLOEXEC) < 0)
		rc = pshm__neg_errno();
	else if ((m.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) || /* more than asked for */
	         (n == 0 && *fd < 0 && !peer_closed(sock)))  /* empty, from a peer still there */
		rc = -EBADMSG;
	if (rc < 0 && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	return rc < 0 ? rc : n;
}

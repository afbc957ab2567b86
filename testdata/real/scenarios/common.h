/* Shared helpers for the skbwalk real-dump scenarios (static, run as guest processes). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#pragma GCC diagnostic ignored "-Wunused-function"

#define MANIFEST_DIR "/run/manifest"

static void die(const char *what)
{
	fprintf(stderr, "SKBW-ERROR %s: %s\n", what, strerror(errno));
	exit(1);
}

static void set_comm(const char *name)
{
	if (prctl(PR_SET_NAME, name, 0, 0, 0) < 0)
		die("prctl");
}

/* The process's cgroup on the default (v2) hierarchy: the "0::" line of /proc/self/cgroup
 * ("/" when only the root exists). */
static void own_cgroup(char *out, size_t n)
{
	char line[512];
	FILE *f = fopen("/proc/self/cgroup", "r");
	snprintf(out, n, "-");
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, "0::", 3) == 0) {
			line[strcspn(line, "\n")] = 0;
			snprintf(out, n, "%s", line + 3);
			break;
		}
	}
	fclose(f);
}

/* Append one JSON object (one line) describing a socket to the manifest, with the process's
 * own cgroup. */
static void manifest(const char *scenario, const char *role, int fd, const char *extra_fmt, ...)
{
	char comm[17] = {0}, path[256], extra[512] = "", cgroup[400];
	prctl(PR_GET_NAME, comm, 0, 0, 0);
	own_cgroup(cgroup, sizeof cgroup);
	if (extra_fmt) {
		va_list ap;
		va_start(ap, extra_fmt);
		vsnprintf(extra, sizeof extra, extra_fmt, ap);
		va_end(ap);
	}
	snprintf(path, sizeof path, MANIFEST_DIR "/%s.%d.%d", scenario, (int)getpid(), fd);
	FILE *f = fopen(path, "w");
	if (!f)
		die("manifest open");
	fprintf(f, "{\"scenario\":\"%s\",\"role\":\"%s\",\"pid\":%d,\"comm\":\"%s\",\"fd\":%d,\"cgroup\":\"%s\"%s%s}\n",
		scenario, role, (int)getpid(), comm, fd, cgroup, extra[0] ? "," : "", extra);
	fclose(f);
}

/* Append one JSON object describing a socket no fd reaches (found only in the kernel's hash tables):
 * no pid/fd, "nofd":true, its family, local and remote address, the TCP states it may be in (a JSON
 * list body, e.g. "\"TIME_WAIT\""), and which queue should be non-empty ("empty" for none). */
static void manifest_nofd(const char *scenario, const char *role, int idx, const char *family,
			  const char *laddr, int lport, const char *raddr, int rport, const char *states,
			  const char *expect, const char *extra_fmt, ...)
{
	char path[256], extra[512] = "";
	if (extra_fmt) {
		va_list ap;
		va_start(ap, extra_fmt);
		vsnprintf(extra, sizeof extra, extra_fmt, ap);
		va_end(ap);
	}
	snprintf(path, sizeof path, MANIFEST_DIR "/%s.nofd.%d", scenario, idx);
	FILE *f = fopen(path, "w");
	if (!f)
		die("manifest open");
	fprintf(f, "{\"scenario\":\"%s\",\"role\":\"%s\",\"nofd\":true,\"family\":\"%s\",\"local\":\"%s:%d\","
		"\"remote\":\"%s:%d\",\"states\":[%s],\"expect\":\"%s\"%s%s}\n",
		scenario, role, family, laddr, lport, raddr, rport, states, expect, extra[0] ? "," : "", extra);
	fclose(f);
}

/* Whether the kernel's command line holds `word` (a boot's scenario switch, e.g. skbw.incident=1). */
static int cmdline_has(const char *word)
{
	char line[4096] = "";
	FILE *f = fopen("/proc/cmdline", "r");
	if (f) {
		if (!fgets(line, sizeof line, f))
			line[0] = 0;
		fclose(f);
	}
	return strstr(line, word) != NULL;
}

static void mark_ready(const char *scenario)
{
	char path[256];
	snprintf(path, sizeof path, MANIFEST_DIR "/%s.ready", scenario);
	int fd = open(path, O_CREAT | O_WRONLY, 0644);
	if (fd < 0)
		die("ready");
	close(fd);
}

/* Move fd out of the way of the low numbers (call on every fd before placing any with move_fd). */
static int hi_fd(int fd)
{
	int h = fcntl(fd, F_DUPFD, 100);
	if (h < 0)
		die("F_DUPFD");
	close(fd);
	return h;
}

/* Move fd to a chosen number (the scenario's documented fd); refuses to clobber an open fd. */
static int move_fd(int fd, int want)
{
	if (fd == want)
		return fd;
	if (fcntl(want, F_GETFD) != -1) {
		errno = EBUSY;
		die("move_fd target in use");
	}
	if (dup2(fd, want) < 0)
		die("dup2");
	close(fd);
	return want;
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		die("fcntl");
}

static struct sockaddr_in in4(const char *ip, int port)
{
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	inet_pton(AF_INET, ip, &a.sin_addr);
	return a;
}

/* Write mixed-size chunks to a non-blocking fd until it stays full.  Returns bytes written. */
static long fill(int fd, const size_t *sizes, int nsizes, long limit)
{
	static char buf[262144];
	long total = 0;
	int idle_rounds = 0, i = 0;
	memset(buf, 'x', sizeof buf);
	while (idle_rounds < 5 && (limit <= 0 || total < limit)) {
		size_t n = sizes[i++ % nsizes];
		ssize_t w = write(fd, buf, n);
		if (w > 0) {
			total += w;
			idle_rounds = 0;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS)
			die("fill write");
		idle_rounds++;
		usleep(200 * 1000);
	}
	return total;
}

static void sleep_forever(void)
{
	for (;;)
		pause();
}

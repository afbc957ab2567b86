/* Scenario (f): sockets no fd reaches, found only through the kernel's hash tables (tcp_hashinfo.ehash).
 *
 * - orphan: a loopback client (bound to 127.0.0.1:9103) connects to a server on 127.0.0.1:9003 whose
 *   receive buffer is tiny (SO_RCVBUF 4096 on the listener, inherited) and which never reads; the client
 *   fills its send buffer (non-blocking) and close()s.  The socket becomes an orphan in FIN_WAIT1 with the
 *   unsent data (and the FIN) in sk_write_queue, probing a zero window.  Orphan zero-window probing lasts
 *   ~100-200 s (tcp_orphan_retries 0 -> 8 while alive, probes ACKed by the peer), far beyond the dump.
 * - syn-recv: a listener on 127.0.0.1:9005 with TCP_DEFER_ACCEPT 600 s; a client (127.0.0.1:9107)
 *   connects and never sends: the client is ESTABLISHED (fd), the server side stays a NEW_SYN_RECV
 *   request_sock in ehash (the bare ACK is dropped while the defer period runs, ~10 min).
 * - timewait: three loopback connections to 127.0.0.1:9004 from 127.0.0.1:9104..9106, closed first by the
 *   client (which then holds TIME_WAIT, 60 s).  Created late: when txstall has received the host's go byte
 *   (/run/txstall.go), i.e. a few seconds before the VM is stopped; "HASHTAB-TIMEWAIT n" on the console
 *   tells capture.py they exist.
 * The fd sockets (listeners, the orphan's peer, the syn-recv client) are in the manifest as usual; the
 * no-fd ones as manifest_nofd() entries (address, expected states, no pid/fd). */
#include "common.h"
#include <sys/stat.h>

#define ORPHAN_SRV 9003
#define ORPHAN_CLI 9103
#define TW_SRV 9004
#define TW_CLI 9104
#define TW_N 3
#define SR_SRV 9005
#define SR_CLI 9107

static void bind_lo(int s, int port)
{
	int one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = in4("127.0.0.1", port);
	if (bind(s, (struct sockaddr *)&a, sizeof a) < 0)
		die("bind");
}

static void connect_lo(int s, int port)
{
	struct sockaddr_in a = in4("127.0.0.1", port);
	if (connect(s, (struct sockaddr *)&a, sizeof a) < 0)
		die("connect");
}

int main(void)
{
	set_comm("hashtab");
	int one = 1;

	/* orphan: listener with a tiny receive buffer, a client that fills its send buffer and closes */
	int l1 = socket(AF_INET, SOCK_STREAM, 0);
	if (l1 < 0)
		die("socket");
	int rcv = 4096;
	setsockopt(l1, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
	bind_lo(l1, ORPHAN_SRV);
	if (listen(l1, 4) < 0)
		die("listen");
	l1 = move_fd(l1, 5);
	int c1 = socket(AF_INET, SOCK_STREAM, 0);
	if (c1 < 0)
		die("socket");
	int snd = 65536;
	setsockopt(c1, SOL_SOCKET, SO_SNDBUF, &snd, sizeof snd);
	bind_lo(c1, ORPHAN_CLI);
	connect_lo(c1, ORPHAN_SRV);
	c1 = hi_fd(c1);
	int s1 = accept(l1, NULL, NULL);
	if (s1 < 0)
		die("accept");
	s1 = move_fd(s1, 6);
	set_nonblock(c1);
	static const size_t sizes[] = {1, 100, 1448, 3000, 17, 9000, 512, 32768, 200, 4096};
	long written = fill(c1, sizes, sizeof sizes / sizeof sizes[0], 0);
	int outq = 0, inq = 0;
	ioctl(c1, TIOCOUTQ, &outq);
	close(c1); /* orphan: FIN_WAIT1, data + FIN still in sk_write_queue */
	usleep(100 * 1000);
	ioctl(s1, FIONREAD, &inq);

	/* timewait listener (connections made later) */
	int l2 = socket(AF_INET, SOCK_STREAM, 0);
	if (l2 < 0)
		die("socket");
	bind_lo(l2, TW_SRV);
	if (listen(l2, 8) < 0)
		die("listen");
	l2 = move_fd(l2, 7);

	/* syn-recv: TCP_DEFER_ACCEPT listener, a client that connects and never sends */
	int l3 = socket(AF_INET, SOCK_STREAM, 0);
	if (l3 < 0)
		die("socket");
	bind_lo(l3, SR_SRV);
	int defer = 600;
	if (setsockopt(l3, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer, sizeof defer) < 0)
		die("TCP_DEFER_ACCEPT");
	if (listen(l3, 4) < 0)
		die("listen");
	l3 = move_fd(l3, 8);
	int c3 = socket(AF_INET, SOCK_STREAM, 0);
	if (c3 < 0)
		die("socket");
	bind_lo(c3, SR_CLI);
	connect_lo(c3, SR_SRV);
	c3 = move_fd(c3, 9);

	manifest("hashtab", "orphan-listen", l1, "\"proto\":\"tcp\",\"port\":%d,\"expect\":\"empty\"", ORPHAN_SRV);
	manifest("hashtab", "orphan-server", s1, "\"proto\":\"tcp\",\"port\":%d,\"expect\":\"receive\",\"inq\":%d", ORPHAN_SRV, inq);
	manifest("hashtab", "tw-listen", l2, "\"proto\":\"tcp\",\"port\":%d,\"expect\":\"empty\"", TW_SRV);
	manifest("hashtab", "synrecv-listen", l3, "\"proto\":\"tcp\",\"port\":%d,\"expect\":\"empty\"", SR_SRV);
	manifest("hashtab", "synrecv-client", c3, "\"proto\":\"tcp\",\"port\":%d,\"expect\":\"empty\"", SR_SRV);
	manifest_nofd("hashtab", "orphan", 0, "AF_INET", "127.0.0.1", ORPHAN_CLI, "127.0.0.1", ORPHAN_SRV,
		      "\"FIN_WAIT1\"", "write", "\"written\":%ld,\"outq\":%d", written, outq);
	for (int i = 0; i < TW_N; i++)
		manifest_nofd("hashtab", "timewait", 1 + i, "AF_INET", "127.0.0.1", TW_CLI + i, "127.0.0.1", TW_SRV,
			      "\"TIME_WAIT\"", "empty", NULL);
	manifest_nofd("hashtab", "syn-recv", 1 + TW_N, "AF_INET", "127.0.0.1", SR_SRV, "127.0.0.1", SR_CLI,
		      "\"NEW_SYN_RECV\"", "empty", NULL);
	mark_ready("hashtab");

	/* TIME_WAIT late, so that it is well inside its 60 s at dump time */
	struct stat st;
	while (stat("/run/txstall.go", &st) < 0)
		usleep(50 * 1000);
	int made = 0;
	for (int i = 0; i < TW_N; i++) {
		int c = socket(AF_INET, SOCK_STREAM, 0);
		if (c < 0)
			die("socket");
		setsockopt(c, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		bind_lo(c, TW_CLI + i);
		connect_lo(c, TW_SRV);
		int s = accept(l2, NULL, NULL);
		if (s < 0)
			die("accept");
		close(c); /* active close: the client side ends in TIME_WAIT */
		char b[16];
		while (read(s, b, sizeof b) > 0)
			;
		close(s); /* passive close: LAST_ACK -> CLOSE */
		made++;
	}
	usleep(100 * 1000);
	printf("HASHTAB-TIMEWAIT %d\n", made);
	fflush(stdout);
	sleep_forever();
}

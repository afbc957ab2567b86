/* Scenario (a): like the incident's nginx — a TCP server on the virtio-net interface that accepts
 * one connection, keeps it at fd 11 and never reads it.  The host streams many small segments into it;
 * virtio_net (mergeable rx buffers) leaves each segment's payload as a frag on a 32 KiB page. */
#include "common.h"

int main(void)
{
	set_comm("nginx");
	int l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0)
		die("socket");
	int one = 1, rcvbuf = 4 << 20;
	/* skbw.incident=1 (boot D): the incident's shape. No SO_RCVBUF: receive-buffer autotuning up to
	   tcp_rmem's max (init sets 16 MiB default, 32 MiB max), so the queue is never collapsed into linear
	   skbs and keeps the driver's pages (a fixed buffer gets pruned and collapsed when it fills). */
	int incident = cmdline_has("skbw.incident=1");
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	/* A big receive buffer so the queue is not pruned/collapsed: we want the driver's pages queued. */
	if (!incident && setsockopt(l, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
		die("SO_RCVBUFFORCE");
	struct sockaddr_in a = in4("0.0.0.0", 8080);
	if (bind(l, (struct sockaddr *)&a, sizeof a) < 0)
		die("bind");
	if (listen(l, 16) < 0)
		die("listen");
	l = move_fd(l, 6);
	manifest("nginx", "listen", l, "\"proto\":\"tcp\",\"port\":8080,\"expect\":\"empty\"");
	manifest("nginx", "server", 11, "\"proto\":\"tcp\",\"port\":8080,\"expect\":\"receive\",\"via\":\"virtio_net\"");
	mark_ready("nginx");

	int c = accept(l, NULL, NULL);
	if (c < 0)
		die("accept");
	c = move_fd(c, 11);
	printf("NGINX-ACCEPTED fd=11\n");
	fflush(stdout);
	/* Never read.  Report the queued byte count (SIOCINQ does not consume) whenever it changes. */
	int last = -1;
	for (;;) {
		int n = 0;
		if (ioctl(c, FIONREAD, &n) < 0)
			die("FIONREAD");
		if (n != last) {
			printf("NGINX-RECVQ %d\n", n);
			fflush(stdout);
			last = n;
		}
		sleep(1);
	}
}

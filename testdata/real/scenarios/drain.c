/* Scenario (f): a well-behaved neighbour of (a) — a TCP server on the virtio-net interface (port 8081) that
 * reads and discards everything.  The host interleaves its traffic with nginx's, so the 32 KiB receive
 * pages virtio_net carves hold buffers of both connections: drained buffers are freed, but the page stays
 * pinned by nginx's queued frags.  That is the incident's amplification (pinned bytes >> truesize). */
#include "common.h"

int main(void)
{
	set_comm("drain");
	int l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0)
		die("socket");
	int one = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = in4("0.0.0.0", 8081);
	if (bind(l, (struct sockaddr *)&a, sizeof a) < 0)
		die("bind");
	if (listen(l, 16) < 0)
		die("listen");
	l = move_fd(l, 5);
	manifest("drain", "listen", l, "\"proto\":\"tcp\",\"port\":8081,\"expect\":\"empty\"");
	manifest("drain", "server", 6, "\"proto\":\"tcp\",\"port\":8081,\"expect\":\"empty\",\"via\":\"virtio_net\"");
	mark_ready("drain");
	int c = accept(l, NULL, NULL);
	if (c < 0)
		die("accept");
	c = move_fd(c, 6);
	static char buf[65536];
	long total = 0;
	for (;;) {
		ssize_t n = read(c, buf, sizeof buf);
		if (n <= 0)
			break;
		total += n;
	}
	printf("DRAIN-EOF %ld\n", total);
	fflush(stdout);
	for (;;)
		pause();
}

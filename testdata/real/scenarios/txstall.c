/* Scenario (e): a guest TCP client over virtio-net whose peer stops acknowledging.  "txstall" connects
 * through QEMU user networking (guestfwd 10.0.2.100:9000 -> a host-side server on 127.0.0.1) and waits
 * for one byte from the host; then it streams TCP_NODELAY writes of mixed sizes (blocking) forever.
 * The host (capture.py) lets it stream, then takes the link down (QMP set_link off) while data is in
 * flight: what was sent stays unacknowledged in tcp_rtx_queue, later writes pile up in sk_write_queue. */
#include "common.h"

int main(void)
{
	set_comm("txstall");
	int s = -1, one = 1;
	struct sockaddr_in a = in4("10.0.2.100", 9000);
	for (int i = 0; i < 50; i++) { /* eth0 may still be settling */
		s = socket(AF_INET, SOCK_STREAM, 0);
		if (s < 0)
			die("socket");
		if (connect(s, (struct sockaddr *)&a, sizeof a) == 0)
			break;
		close(s);
		s = -1;
		usleep(200 * 1000);
	}
	if (s < 0)
		die("connect 10.0.2.100:9000 (guestfwd)");
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	s = move_fd(s, 9);
	manifest("txstall", "client", s, "\"proto\":\"tcp\",\"port\":9000,\"expect\":\"retransmit\",\"via\":\"virtio_net\"");
	mark_ready("txstall");
	char go;
	if (read(s, &go, 1) != 1)
		die("txstall: read go byte");
	printf("TXSTALL-GO\n");
	fflush(stdout);
	close(open("/run/txstall.go", O_CREAT | O_WRONLY, 0644)); /* hashtab: make the TIME_WAIT sockets now */
	static char buf[65536];
	static const size_t sizes[] = {1448, 100, 3000, 17, 9000, 512, 2896, 200, 4096, 1};
	memset(buf, 'T', sizeof buf);
	for (unsigned long i = 0;; i++) {
		ssize_t w = write(s, buf, sizes[i % (sizeof sizes / sizeof sizes[0])]);
		if (w < 0 && errno != EINTR)
			sleep_forever(); /* the connection is gone: keep what is queued */
	}
}

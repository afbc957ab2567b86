/* Scenario (e): a guest TCP client over virtio-net whose peer stops acknowledging.  "txstall" connects
 * through QEMU user networking (guestfwd 10.0.2.100:9000 -> a host-side server on 127.0.0.1) and waits
 * for one byte from the host; then it streams TCP_NODELAY writes of mixed sizes (blocking) forever.
 * The host (capture.py) lets it stream, then takes the link down (QMP set_link off) while data is in
 * flight: what was sent stays unacknowledged in tcp_rtx_queue, later writes pile up in sk_write_queue. */
#include "common.h"
#include <linux/sockios.h>
#include <poll.h>
#include <time.h>

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
	/* Stream without blocking, and say on the console what the socket holds, so the host stops the VM
	 * only once the state the tier checks exists (capture.py waits for it): "TXSTALL-Q unacked=U unsent=N"
	 * (SIOCOUTQ - SIOCOUTQNSD: sent, not acknowledged = tcp_rtx_queue; SIOCOUTQNSD: not yet sent =
	 * sk_write_queue), printed whenever it changes.  When the link goes down while the data in flight
	 * already fills sk_sndbuf, writes would block with nothing queued behind it: then the send buffer is
	 * doubled (at most 4 times), which lets the next writes queue up unsent.  The state is printed at
	 * least once a second, so the host sees it after the link went down even when it no longer changes. */
	set_nonblock(s);
	static char buf[65536];
	static const size_t sizes[] = {1448, 100, 3000, 17, 9000, 512, 2896, 200, 4096, 1};
	memset(buf, 'T', sizeof buf);
	int last_unacked = -1, last_unsent = -1, full_rounds = 0, grown = 0;
	time_t last_print = 0;
	for (unsigned long i = 0;; i++) {
		ssize_t w = write(s, buf, sizes[i % (sizeof sizes / sizeof sizes[0])]);
		if (w < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
			break; /* the connection is gone: keep what is queued */
		if (w >= 0) {
			full_rounds = 0;
			if (i % 64)
				continue;
		} else {
			struct pollfd p = {.fd = s, .events = POLLOUT};
			poll(&p, 1, 100);
			full_rounds++;
		}
		int outq = 0, unsent = 0;
		if (ioctl(s, SIOCOUTQ, &outq) < 0 || ioctl(s, SIOCOUTQNSD, &unsent) < 0)
			die("txstall: SIOCOUTQ");
		int unacked = outq - unsent;
		time_t now = time(NULL);
		if (unacked != last_unacked || unsent != last_unsent || now != last_print) {
			printf("TXSTALL-Q unacked=%d unsent=%d\n", unacked, unsent);
			fflush(stdout);
			last_unacked = unacked;
			last_unsent = unsent;
			last_print = now;
		}
		if (unsent == 0 && unacked > 0 && full_rounds >= 10 && grown < 4) {
			int sndbuf = 0;
			socklen_t l = sizeof sndbuf;
			getsockopt(s, SOL_SOCKET, SO_SNDBUF, &sndbuf, &l);
			/* the kernel reports twice what was set, so setting what it reports doubles it; FORCE
			 * (root in the guest) because an autotuned buffer can be above net.core.wmem_max */
			if (setsockopt(s, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) < 0)
				die("txstall: SO_SNDBUFFORCE");
			printf("TXSTALL-SNDBUF %d\n", sndbuf * 2);
			fflush(stdout);
			grown++;
			full_rounds = 0;
		}
	}
	sleep_forever();
}

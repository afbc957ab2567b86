/* Scenario (b): loopback TCP with a stalled reader.  The client ("tcpstall-cli") writes mixed sizes
 * until its socket stays full; the server ("tcpstall") accepted the connection and never reads.
 * Interesting: the server's receive queue AND the client's write queue. */
#include "common.h"

int main(void)
{
	set_comm("tcpstall");
	int l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0)
		die("socket");
	int one = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = in4("127.0.0.1", 9000);
	if (bind(l, (struct sockaddr *)&a, sizeof a) < 0)
		die("bind");
	if (listen(l, 4) < 0)
		die("listen");

	int sync_pipe[2];
	if (pipe(sync_pipe) < 0)
		die("pipe");
	pid_t child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		close(l);
		set_comm("tcpstall-cli");
		int s = socket(AF_INET, SOCK_STREAM, 0);
		if (s < 0)
			die("socket cli");
		setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if (connect(s, (struct sockaddr *)&a, sizeof a) < 0)
			die("connect");
		s = move_fd(s, 7);
		set_nonblock(s);
		static const size_t sizes[] = {1, 100, 1448, 3000, 17, 65536, 9000, 512, 32768, 200, 4096, 70000};
		long n = fill(s, sizes, sizeof sizes / sizeof sizes[0], 0);
		int outq = 0;
		ioctl(s, TIOCOUTQ, &outq);
		manifest("tcpstall", "client", s, "\"proto\":\"tcp\",\"port\":9000,\"expect\":\"write\",\"written\":%ld,\"outq\":%d", n, outq);
		close(sync_pipe[0]);
		write(sync_pipe[1], "k", 1);
		close(sync_pipe[1]);
		sleep_forever();
	}
	close(sync_pipe[1]);
	int c = accept(l, NULL, NULL);
	if (c < 0)
		die("accept");
	c = move_fd(c, 8);
	l = move_fd(l, 5);
	char k;
	if (read(sync_pipe[0], &k, 1) != 1)
		die("sync");
	close(sync_pipe[0]);
	int inq = 0;
	ioctl(c, FIONREAD, &inq);
	manifest("tcpstall", "listen", l, "\"proto\":\"tcp\",\"port\":9000,\"expect\":\"empty\"");
	manifest("tcpstall", "server", c, "\"proto\":\"tcp\",\"port\":9000,\"expect\":\"receive\",\"inq\":%d", inq);
	mark_ready("tcpstall");
	sleep_forever();
}

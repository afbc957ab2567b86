/* Boot L's socket churn (not a scenario: the dump boots never run it): while skbwalk --live top --watch
 * samples the running kernel, open and close loopback TCP connections (an accepting child reads and
 * closes them; the client closes first, so TIME_WAIT socks come and go) and UDP sockets, without a
 * pause longer than 2 ms.  Stops when killed; its child dies with it (PR_SET_PDEATHSIG). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(9600)};
	static char buf[4096];
	int one = 1;
	prctl(PR_SET_NAME, "churn", 0, 0, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int l = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 64) < 0) {
		perror("churn: listen");
		return 1;
	}
	if (fork() == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		for (;;) {
			int c = accept(l, NULL, NULL);
			if (c < 0)
				continue;
			while (read(c, buf, sizeof buf) > 0)
				;
			close(c);
		}
	}
	close(l);
	for (unsigned long n = 0;; n++) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		if (s >= 0 && connect(s, (struct sockaddr *)&a, sizeof a) == 0)
			if (write(s, buf, 1 + n % sizeof buf) < 0)
				;
		if (s >= 0)
			close(s);
		int u = socket(AF_INET, SOCK_DGRAM, 0);
		if (u >= 0) {
			struct sockaddr_in d = a;
			d.sin_port = htons(9601);
			sendto(u, buf, 1 + n % 1400, 0, (struct sockaddr *)&d, sizeof d);
			close(u);
		}
		usleep(2000);
	}
}

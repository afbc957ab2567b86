/* Scenario (e): sockets with empty queues — a listening TCP socket and an idle connected UDP socket. */
#include "common.h"

int main(void)
{
	set_comm("idle");
	int l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0)
		die("socket");
	int one = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = in4("127.0.0.1", 9002);
	if (bind(l, (struct sockaddr *)&a, sizeof a) < 0)
		die("bind");
	if (listen(l, 4) < 0)
		die("listen");
	l = move_fd(l, 5);
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	if (u < 0)
		die("socket udp");
	struct sockaddr_in p = in4("127.0.0.1", 9999);
	if (connect(u, (struct sockaddr *)&p, sizeof p) < 0)
		die("connect");
	u = move_fd(u, 6);
	manifest("idle", "listen", l, "\"proto\":\"tcp\",\"port\":9002,\"expect\":\"empty\"");
	manifest("idle", "udp-connected", u, "\"proto\":\"udp\",\"expect\":\"empty\"");
	mark_ready("idle");
	sleep_forever();
}

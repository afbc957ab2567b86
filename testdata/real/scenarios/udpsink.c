/* Scenario (c): UDP on loopback with unread datagrams of mixed sizes (until the receive buffer drops). */
#include "common.h"

int main(void)
{
	set_comm("udpsink");
	int r = socket(AF_INET, SOCK_DGRAM, 0);
	if (r < 0)
		die("socket");
	struct sockaddr_in a = in4("127.0.0.1", 9001);
	if (bind(r, (struct sockaddr *)&a, sizeof a) < 0)
		die("bind");
	r = move_fd(r, 5);
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0)
		die("socket tx");
	if (connect(s, (struct sockaddr *)&a, sizeof a) < 0)
		die("connect");
	s = move_fd(s, 6);
	static const size_t sizes[] = {1, 17, 100, 512, 1400, 1472, 3000, 8000, 16000, 60000, 64, 700};
	static char buf[65536];
	memset(buf, 'u', sizeof buf);
	long sent = 0;
	int i;
	for (i = 0; i < 240; i++) {
		ssize_t w = send(s, buf, sizes[i % (sizeof sizes / sizeof sizes[0])], 0);
		if (w > 0)
			sent += w;
	}
	manifest("udpsink", "receiver", r, "\"proto\":\"udp\",\"port\":9001,\"expect\":\"receive\",\"datagrams_sent\":%d,\"bytes_sent\":%ld", i, sent);
	manifest("udpsink", "sender", s, "\"proto\":\"udp\",\"port\":9001,\"expect\":\"empty\"");
	mark_ready("udpsink");
	sleep_forever();
}

/* Scenario (d): AF_UNIX stream and datagram socketpairs with unread data.  Note: AF_UNIX charges the
 * *sender* (sk_wmem_alloc); the skbs sit on the receiver's sk_receive_queue. */
#include "common.h"

int main(void)
{
	set_comm("unixsink");
	int st[2], dg[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, st) < 0)
		die("socketpair stream");
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, dg) < 0)
		die("socketpair dgram");
	st[0] = hi_fd(st[0]);
	st[1] = hi_fd(st[1]);
	dg[0] = hi_fd(dg[0]);
	dg[1] = hi_fd(dg[1]);
	int srx = move_fd(st[0], 5), stx = move_fd(st[1], 6);
	int drx = move_fd(dg[0], 7), dtx = move_fd(dg[1], 8);
	set_nonblock(stx);
	set_nonblock(dtx);
	static const size_t ssizes[] = {1, 4096, 100, 70000, 33000, 2000, 8192, 150000, 17};
	static const size_t dsizes[] = {1, 200, 4000, 16384, 60000, 900, 33000};
	long sn = fill(stx, ssizes, sizeof ssizes / sizeof ssizes[0], 0);
	long dn = fill(dtx, dsizes, sizeof dsizes / sizeof dsizes[0], 0);
	manifest("unixsink", "stream-receiver", srx, "\"proto\":\"unix-stream\",\"expect\":\"receive\",\"written\":%ld", sn);
	manifest("unixsink", "stream-sender", stx, "\"proto\":\"unix-stream\",\"expect\":\"empty\"");
	manifest("unixsink", "dgram-receiver", drx, "\"proto\":\"unix-dgram\",\"expect\":\"receive\",\"written\":%ld", dn);
	manifest("unixsink", "dgram-sender", dtx, "\"proto\":\"unix-dgram\",\"expect\":\"empty\"");
	mark_ready("unixsink");
	sleep_forever();
}

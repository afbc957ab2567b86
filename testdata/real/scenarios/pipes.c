/* Scenario (pipes, #28): pipes filled and never read — pages taken straight from the buddy
 * allocator for pipe buffers, which no /proc counter names. Four pipes, each enlarged to 1 MiB
 * (F_SETPIPE_SZ), get (i+1) x 64 writes of one page each: every write of a whole page takes a
 * buffer of its own, so pipe i holds exactly (i+1) x 64 pages. With skbw.pipes=big on the
 * kernel's command line (boot B), sixteen pipes of 256 pages (16 MiB): more than any other owner
 * of allocpage, so explain names them. The read ends stay open and unread. Each pipe is a manifest line (not a socket): "pipe":true, its read fd "fd", write fd
 * "wfd", and its pages. */
#include "common.h"

#define MAX_PIPES 16
#define PAGE_BYTES 4096

int main(void)
{
	set_comm("pipes");
	static char page[PAGE_BYTES];
	memset(page, 'p', sizeof page);
	int pipes = cmdline_has("skbw.pipes=big") ? MAX_PIPES : 4;
	int fds[MAX_PIPES][2];
	for (int i = 0; i < pipes; i++) {
		int p[2];
		if (pipe(p) < 0)
			die("pipe");
		fds[i][0] = hi_fd(p[0]);
		fds[i][1] = hi_fd(p[1]);
	}
	for (int i = 0; i < pipes; i++) {
		int r = move_fd(fds[i][0], 10 + 2 * i), w = move_fd(fds[i][1], 11 + 2 * i);
		if (fcntl(w, F_SETPIPE_SZ, 1 << 20) < 0)
			die("F_SETPIPE_SZ");
		int pages = pipes == MAX_PIPES ? 256 : (i + 1) * 64;
		for (int n = 0; n < pages; n++)
			if (write(w, page, sizeof page) != (ssize_t)sizeof page)
				die("write");
		manifest("pipes", "pipe", r, "\"pipe\":true,\"wfd\":%d,\"pages\":%d,\"page_bytes\":%d", w, pages,
			 PAGE_BYTES);
	}
	mark_ready("pipes");
	sleep_forever();
}

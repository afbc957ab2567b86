/* Scenario (pipes, #28): pipes filled and never read, and an AF_PACKET socket with rings — pages taken straight from the buddy
 * allocator for pipe buffers, which no /proc counter names. Four pipes, each enlarged to 1 MiB
 * (F_SETPIPE_SZ), get (i+1) x 64 writes of one page each: every write of a whole page takes a
 * buffer of its own, so pipe i holds exactly (i+1) x 64 pages. With skbw.pipes=big on the
 * kernel's command line (boot B), sixteen pipes of 256 pages (16 MiB): more than any other owner
 * of allocpage, so explain names them. The read ends stay open and unread. Each pipe is a manifest line (not a socket): "pipe":true, its read fd "fd", write fd
 * "wfd", and its pages.
 *
 * The same process opens an AF_PACKET socket (protocol 0: it receives nothing, so its ring stays
 * as it was made) with a receive ring of 8 blocks of 64 KiB (16 pages each, one order-4 compound
 * page per block: 128 pages) and a transmit ring of 4 blocks of 16 KiB (16 pages), at fd 50: the
 * manifest line "packet":true with the geometry.
 *
 * And a perf ring buffer: a software event (PERF_COUNT_SW_DUMMY: it counts nothing, so its ring
 * stays as it was made) mapped with 64 data pages and the user page, at fd 51: the manifest
 * line "perf":true with "data_pages".
 *
 * And an io_uring instance of 256 SQEs (its rings and SQE array, allocated by the kernel at
 * io_uring_setup), at fd 52, and where the kernel has them (6.4+: IOU_PBUF_RING_MMAP) a provided-buffer
 * ring of 1024 entries (16 KiB) the kernel allocates: the manifest line "io_uring":true with its sq
 * and cq entries and "buf_ring_entries" (0 where the kernel refused it).
 *
 * And a page of the skb page-frag cache: a TAP device with IFF_NAPI_FRAGS (skbwtap0, at fd 53) builds
 * each frame written to it from netdev_alloc_frag() frags, which in process context come from the
 * CPU's napi_alloc_cache.page (kernels before 5.2: the task's task_frag). One frame (a 64-byte head,
 * three 1000-byte frags, to a MAC not ours and an unknown EtherType) is written on CPU 0; the stack
 * drops it, and the cache keeps its current page: the manifest line "napi_frags":true with the CPU. */
#include "common.h"
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <sys/uio.h>
#include <linux/io_uring.h>
#include <linux/perf_event.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#define PERF_DATA_PAGES 64

#define MAX_PIPES 16
#define PAGE_BYTES 4096

/* One frame of frags written to a TAP device with IFF_NAPI_FRAGS, on CPU 0. */
static void napi_frags(void)
{
	cpu_set_t one, all;
	sched_getaffinity(0, sizeof all, &all);
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	if (sched_setaffinity(0, sizeof one, &one) < 0)
		die("sched_setaffinity");
	int tf = open("/dev/net/tun", O_RDWR);
	if (tf < 0)
		die("open /dev/net/tun");
	tf = move_fd(tf, 53);
	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "skbwtap0");
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_NAPI | IFF_NAPI_FRAGS;
	if (ioctl(tf, TUNSETIFF, &ifr) < 0)
		die("TUNSETIFF");
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		die("SIOCGIFFLAGS");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		die("SIOCSIFFLAGS");
	close(s);
	static unsigned char head[64], body[3][1000];
	const unsigned char dst[6] = {0x02, 0, 0, 0, 0, 0x01}, src[6] = {0x02, 0, 0, 0, 0, 0x02};
	memcpy(head, dst, 6);
	memcpy(head + 6, src, 6);
	head[12] = 0x88, head[13] = 0xb5; /* IEEE local experimental EtherType: no handler */
	memset(body, 'f', sizeof body);
	struct iovec iov[4] = {{head, sizeof head}, {body[0], 1000}, {body[1], 1000}, {body[2], 1000}};
	ssize_t n = writev(tf, iov, 4);
	if (n != (ssize_t)(sizeof head + sizeof body))
		die("writev(tap)");
	manifest("pipes", "napi_frags", tf, "\"napi_frags\":true,\"cpu\":0,\"frags\":3,\"frag_bytes\":1000");
	sched_setaffinity(0, sizeof all, &all);
}

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
	int ps = socket(AF_PACKET, SOCK_RAW, 0);
	if (ps < 0)
		die("socket(AF_PACKET)");
	ps = move_fd(ps, 50);
	struct tpacket_req rx = {.tp_block_size = 16 * PAGE_BYTES, .tp_block_nr = 8, .tp_frame_size = 2048,
				 .tp_frame_nr = 8 * (16 * PAGE_BYTES / 2048)};
	struct tpacket_req tx = {.tp_block_size = 4 * PAGE_BYTES, .tp_block_nr = 4, .tp_frame_size = 2048,
				 .tp_frame_nr = 4 * (4 * PAGE_BYTES / 2048)};
	if (setsockopt(ps, SOL_PACKET, PACKET_RX_RING, &rx, sizeof rx) < 0)
		die("PACKET_RX_RING");
	if (setsockopt(ps, SOL_PACKET, PACKET_TX_RING, &tx, sizeof tx) < 0)
		die("PACKET_TX_RING");
	manifest("pipes", "packet", ps,
		 "\"packet\":true,\"rx_blocks\":%u,\"rx_block_pages\":%u,\"tx_blocks\":%u,\"tx_block_pages\":%u",
		 rx.tp_block_nr, rx.tp_block_size / PAGE_BYTES, tx.tp_block_nr, tx.tp_block_size / PAGE_BYTES);
	struct perf_event_attr pa = {.type = PERF_TYPE_SOFTWARE, .size = sizeof pa, .config = PERF_COUNT_SW_DUMMY,
				     .disabled = 1};
	int pf = syscall(SYS_perf_event_open, &pa, 0, -1, -1, 0);
	if (pf < 0)
		die("perf_event_open");
	pf = move_fd(pf, 51);
	if (mmap(NULL, (1 + PERF_DATA_PAGES) * PAGE_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, pf, 0) == MAP_FAILED)
		die("mmap(perf)");
	manifest("pipes", "perf", pf, "\"perf\":true,\"data_pages\":%d", PERF_DATA_PAGES);
	struct io_uring_params up = {0};
	int ur = syscall(SYS_io_uring_setup, 256, &up);
	if (ur < 0)
		die("io_uring_setup");
	ur = move_fd(ur, 52);
	/* struct io_uring_buf_reg with 6.4's flags (older headers call them pad) */
	struct {
		unsigned long long ring_addr;
		unsigned int ring_entries;
		unsigned short bgid, flags;
		unsigned long long resv[3];
	} reg = {.ring_entries = 1024, .bgid = 7, .flags = 1 /* IOU_PBUF_RING_MMAP */};
	unsigned int buf_ring = syscall(SYS_io_uring_register, ur, 22 /* IORING_REGISTER_PBUF_RING */, &reg, 1) == 0
					? reg.ring_entries
					: 0;
	manifest("pipes", "io_uring", ur, "\"io_uring\":true,\"sq_entries\":%u,\"cq_entries\":%u,\"buf_ring_entries\":%u",
		 up.sq_entries, up.cq_entries, buf_ring);
	napi_frags();
	mark_ready("pipes");
	sleep_forever();
}

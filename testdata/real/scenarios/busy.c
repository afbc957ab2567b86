/* Scenario (i): CPUs busy allocating and freeing pages at the moment of the dump, so per-CPU vmstat
 * deltas (vm_stat_diff, vm_node_stat_diff) are unfolded when QEMU stops the guest: `meminfo`'s "exact"
 * counters then differ from the global ones, and the oracle checks the difference.  One churning child per
 * online CPU: anonymous pages mapped, touched and unmapped; a tmpfs file grown and truncated. */
#include "common.h"
#include <sys/mman.h>

static void churn(int id)
{
	char path[64];
	snprintf(path, sizeof path, "/run/busy-%d", id);
	for (unsigned long n = 0;; n++) {
		size_t len = (size_t)(1 + n % 16) << 16;
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			die("mmap");
		for (size_t i = 0; i < len; i += 4096)
			p[i] = (char)n;
		munmap(p, len);
		int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
		if (fd >= 0) {
			static char buf[1 << 15];
			buf[0] = (char)n;
			if (write(fd, buf, sizeof buf) < 0)
				die("write");
			close(fd);
		}
	}
}

int main(void)
{
	set_comm("busy");
	if (nice(19) < 0)
		;	/* best effort: the other scenarios come first */
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	for (int i = 0; i < cpus; i++)
		if (fork() == 0)
			churn(i);
	mark_ready("busy");
	sleep_forever();
}

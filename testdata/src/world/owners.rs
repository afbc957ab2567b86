//! Owners of allocpage in the synthetic kernel: pipes with buffers, tasks' and sockets'
//! page-frag pages, page_pool pages, perf rings, io_uring rings and offline pages (`skbwalk::owners`).

use super::*;

impl World {
    /// A pipe held by `task` at fds `read` and `write`, with `pages` buffers (one page each)
    /// and a spare `tmp_page`; the ring's counters start near their wrap so the used slots
    /// wrap around the ring's end. Returns the pipe and its pages (struct page addresses).
    pub fn add_pipe(&mut self, task: usize, read: u32, write: u32, pages: u32) -> (u64, Vec<u64>) {
        let k = Arc::clone(&self.k);
        let o = |key: &str| k.o(key);
        let ring = 16u32.max(pages.next_power_of_two());
        let (pipe, _) = self.kmalloc(o("pipe_inode_info"));
        let (bufs, _) = self.kmalloc(u64::from(ring) * o("pipe_buffer"));
        let tail = u32::MAX - 1;
        let mut structs = Vec::new();
        for i in 0..pages {
            let sp = self.owned_page();
            let slot = u64::from(tail.wrapping_add(i) & (ring - 1));
            self.write_u64(bufs + slot * o("pipe_buffer") + o("pipe_buffer.page"), sp);
            structs.push(sp);
        }
        let tmp = self.owned_page();
        structs.push(tmp);
        self.write_u64(pipe + o("pipe_inode_info.tmp_page"), tmp);
        self.write_u32(pipe + o("pipe_inode_info.tail"), tail);
        self.write_u32(pipe + o("pipe_inode_info.head"), tail.wrapping_add(pages));
        self.write_u32(pipe + o("pipe_inode_info.ring_size"), ring);
        self.write_u64(pipe + o("pipe_inode_info.bufs"), bufs);
        for fd in [read, write] {
            let file = self.new_file("pipefifo_fops", pipe);
            let inode = self.slab_alloc("inode_cache");
            self.write_u16(inode + o("inode.i_mode"), 0o010600);
            self.write_u64(file + o("file.f_inode"), inode);
            self.install_fd(task, fd, file);
        }
        (pipe, structs)
    }

    /// A perf event file held by `task` at `fd`, its ring mapped with `data` data pages and
    /// `aux` AUX pages besides the control page (each an order-0 page, as `rb_alloc` takes
    /// them). Returns the ring and its pages (struct page addresses).
    pub fn add_perf_ring(&mut self, task: usize, fd: u32, data: u32, aux: u32) -> (u64, Vec<u64>) {
        let k = Arc::clone(&self.k);
        let o = |key: &str| k.o(key);
        let (rb, _) = self.kmalloc(o("perf_buffer") + 8 * u64::from(data));
        let mut structs = Vec::new();
        let mut page = |w: &mut World| {
            let (sp, va) = w.owned_page_mapped();
            structs.push(sp);
            va
        };
        let user = page(self);
        self.write_u64(rb + o("perf_buffer.user_page"), user);
        for i in 0..u64::from(data) {
            let va = page(self);
            self.write_u64(rb + o("perf_buffer.data_pages") + 8 * i, va);
        }
        self.write_u32(rb + o("perf_buffer.nr_pages"), data);
        if aux > 0 {
            let (arr, _) = self.kmalloc(8 * u64::from(aux));
            for i in 0..u64::from(aux) {
                let va = page(self);
                self.write_u64(arr + 8 * i, va);
            }
            self.write_u64(rb + o("perf_buffer.aux_pages"), arr);
            self.write_u32(rb + o("perf_buffer.aux_nr_pages"), aux);
        }
        self.add_perf_output(task, fd, rb);
        (rb, structs)
    }

    /// Another perf event file held by `task` at `fd` whose output goes to the ring `rb`
    /// (`PERF_EVENT_IOC_SET_OUTPUT`).
    pub fn add_perf_output(&mut self, task: usize, fd: u32, rb: u64) {
        let k = Arc::clone(&self.k);
        let o = |key: &str| k.o(key);
        let (event, _) = self.kmalloc(o("perf_event"));
        self.write_u64(event + o("perf_event.rb"), rb);
        let file = self.new_file("perf_fops", event);
        self.install_fd(task, fd, file);
    }

    /// An io_uring instance held by `task` at `fd` (the 6.1 layout): its rings and SQE array
    /// compound pages of `2^rings` and `2^sqes` pages, as `io_mem_alloc` takes them. Returns
    /// the ctx and the two heads.
    pub fn add_io_uring(&mut self, task: usize, fd: u32, rings: u32, sqes: u32) -> (u64, [u64; 2]) {
        let k = Arc::clone(&self.k);
        let o = |key: &str| k.o(key);
        let (ctx, _) = self.kmalloc(o("io_ring_ctx"));
        let mut heads = [0; 2];
        for (i, (order, at)) in [(rings, "io_ring_ctx.rings"), (sqes, "io_ring_ctx.sq_sqes")]
            .into_iter()
            .enumerate()
        {
            let p = self.alloc_pages(order);
            heads[i] = self.make_compound(p, order, None);
            let sp = heads[i];
            self.write_u32(sp + o("page._refcount"), 1);
            let va = self.virt(p) + 64;
            self.write_u64(ctx + o(at), va);
        }
        let file = self.new_file("io_uring_fops", ctx);
        self.install_fd(task, fd, file);
        (ctx, heads)
    }

    /// An order-0 page in use by its owner (`_refcount` 1, no flags): its struct page.
    fn owned_page(&mut self) -> u64 {
        self.owned_page_mapped().0
    }

    /// An order-0 page in use by its owner: its struct page and its direct-map address.
    fn owned_page_mapped(&mut self) -> (u64, u64) {
        let p = self.alloc_pages(0);
        let sp = self.page_struct(p / self.page_size());
        self.write_u32(sp + self.k.o("page._refcount"), 1);
        (sp, self.virt(p))
    }

    /// Give `task` a `task_frag` page of `order` (compound): its head.
    pub fn set_task_frag(&mut self, task: usize, order: u32) -> u64 {
        let p = self.alloc_pages(order);
        let head = self.make_compound(p, order, None);
        let t = self.tasks[task].addr;
        self.write_u64(t + self.k.o("task_struct.task_frag.page"), head);
        head
    }

    /// Give the socket `s` an `sk_frag` page of `order` (compound): its head.
    pub fn set_sk_frag(&mut self, s: SockId, order: u32) -> u64 {
        let p = self.alloc_pages(order);
        let head = self.make_compound(p, order, None);
        let sk = self.sockets[s.0].sock;
        self.write_u64(sk + self.k.o("sock.sk_frag.page"), head);
        head
    }

    /// A page_pool whose device is named `dev`, or gone (`NET_PTR_POISON`) for `None`.
    pub fn add_page_pool(&mut self, dev: Option<&str>) -> u64 {
        let k = Arc::clone(&self.k);
        let (pool, _) = self.kmalloc(k.o("page_pool"));
        let netdev = match dev {
            Some(name) => self.add_net_device(name, 2),
            None => 0xdead_0000_0000_0801,
        };
        self.write_u64(pool + k.o("page_pool.slow.netdev"), netdev);
        pool
    }

    /// A `net_device` named `name` with interface index `ifindex` (1: the loopback's).
    pub fn add_net_device(&mut self, name: &str, ifindex: u32) -> u64 {
        let k = Arc::clone(&self.k);
        let (nd, _) = self.kmalloc(k.o("net_device"));
        self.write_bytes(nd + k.o("net_device.name"), name.as_bytes());
        self.write_u32(nd + k.o("net_device.ifindex"), ifindex);
        nd
    }

    /// The driver destroys the pool at `pool` with its pages still out (`user.detach_time`
    /// set); with `orphaned`, its device then unregisters and the kernel moves the pool to the
    /// loopback device (`page_pool_unreg_netdev`, 6.8+).
    pub fn destroy_page_pool(&mut self, pool: u64, orphaned: bool) {
        let k = Arc::clone(&self.k);
        self.write_u64(pool + k.o("page_pool.user.detach_time"), 1234);
        if orphaned {
            let lo = self.add_net_device("lo", 1);
            self.write_u64(pool + k.o("page_pool.slow.netdev"), lo);
        }
    }

    /// A page_pool page of the pool at `pool` (`pp_magic` = PP_SIGNATURE): its struct page.
    pub fn add_page_pool_page(&mut self, pool: u64) -> u64 {
        let sp = self.owned_page();
        self.write_u64(sp + self.k.o("page.pp_magic"), 0xdead_0000_0000_0040);
        self.write_u64(sp + self.k.o("page.pp"), pool);
        sp
    }

    /// An offline page (a balloon's): `PG_offline` cleared below `PAGE_TYPE_BASE` in
    /// `page_type` (the 6.1 scheme). Its struct page.
    pub fn add_offline_page(&mut self) -> u64 {
        let sp = self.owned_page();
        self.write_u32(sp + self.k.o("page.type_word"), 0xffff_feff);
        sp
    }
}

//! Owners of allocpage in the synthetic kernel: pipes with buffers, tasks' and sockets'
//! page-frag pages, page_pool pages and offline pages (`skbwalk::owners`).

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
            let file = self.slab_alloc("filp");
            let inode = self.slab_alloc("inode_cache");
            self.write_u16(inode + o("inode.i_mode"), 0o010600);
            self.write_u64(file + o("file.f_inode"), inode);
            let fop = self.ksym("pipefifo_fops");
            self.write_u64(file + o("file.f_op"), fop);
            self.write_u64(file + o("file.f_count"), 1);
            self.write_u64(file + o("file.private_data"), pipe);
            self.install_fd(task, fd, file);
        }
        (pipe, structs)
    }

    /// An order-0 page in use by its owner (`_refcount` 1, no flags): its struct page.
    fn owned_page(&mut self) -> u64 {
        let p = self.alloc_pages(0);
        let sp = self.page_struct(p / self.page_size());
        self.write_u32(sp + self.k.o("page._refcount"), 1);
        sp
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

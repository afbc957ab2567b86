//! Tasks, threads and their fd tables: regular files, sockets' files, dup'ed descriptors.

use super::*;

impl World {
    /// Add a task (thread-group leader) to the task list with an fd table of `max_fds` slots.
    pub fn add_task(&mut self, pid: i32, comm: &str, max_fds: u32) -> usize {
        let t = self.slab_alloc("task_struct");
        self.write_u32(t + self.k.o("task_struct.pid"), pid as u32);
        self.write_u32(t + self.k.o("task_struct.tgid"), pid as u32);
        let mut c = comm.as_bytes().to_vec();
        c.truncate(15);
        c.push(0);
        self.write_bytes(t + self.k.o("task_struct.comm"), &c);
        self.write_u64(t + self.k.o("task_struct.group_leader"), t);
        let tg = t + self.k.o("task_struct.thread_group");
        self.write_u64(tg, tg);
        self.write_u64(tg + 8, tg);
        // Append to init_task.tasks.
        let head = self.ksym("init_task") + self.k.o("task_struct.tasks");
        let node = t + self.k.o("task_struct.tasks");
        let last = self.read_u64(head + 8);
        self.write_u64(node, head);
        self.write_u64(node + 8, last);
        self.write_u64(last, node);
        self.write_u64(head + 8, node);
        let files = self.slab_alloc("files_cache");
        let (fdt, _) = self.kmalloc(self.k.o("fdtable"));
        let (fd_array, _) = self.kmalloc(max_fds as u64 * 8);
        self.write_u64(files + self.k.o("files_struct.fdt"), fdt);
        self.write_u32(fdt + self.k.o("fdtable.max_fds"), max_fds);
        self.write_u64(fdt + self.k.o("fdtable.fd"), fd_array);
        self.write_u64(t + self.k.o("task_struct.files"), files);
        self.tasks.push(Task {
            addr: t,
            files,
            fd_array,
            max_fds,
        });
        self.tasks.len() - 1
    }

    /// Add a thread to a task: same `files`, linked on the leader's `thread_group`.
    pub fn add_thread(&mut self, task: usize, pid: i32, comm: &str) -> u64 {
        let leader = self.tasks[task].addr;
        let t = self.slab_alloc("task_struct");
        self.write_u32(t + self.k.o("task_struct.pid"), pid as u32);
        let tgid = self.read_u64(leader + self.k.o("task_struct.pid")) as u32;
        self.write_u32(t + self.k.o("task_struct.tgid"), tgid);
        self.write_bytes(
            t + self.k.o("task_struct.comm"),
            format!("{comm}\0").as_bytes(),
        );
        self.write_u64(t + self.k.o("task_struct.group_leader"), leader);
        self.write_u64(t + self.k.o("task_struct.files"), self.tasks[task].files);
        let head = leader + self.k.o("task_struct.thread_group");
        let node = t + self.k.o("task_struct.thread_group");
        let last = self.read_u64(head + 8);
        self.write_u64(node, head);
        self.write_u64(node + 8, last);
        self.write_u64(last, node);
        self.write_u64(head + 8, node);
        t
    }

    /// Task address.
    pub fn task_addr(&self, task: usize) -> u64 {
        self.tasks[task].addr
    }

    pub(super) fn install_fd(&mut self, task: usize, fd: u32, file: u64) {
        assert!(fd < self.tasks[task].max_fds);
        let slot = self.tasks[task].fd_array + fd as u64 * 8;
        self.write_u64(slot, file);
    }

    /// Open a regular file at `fd` (f_op = ext4_file_operations, dentry named `name`).
    pub fn add_regular_file(&mut self, task: usize, fd: u32, name: &str) -> u64 {
        let file = self.slab_alloc("filp");
        let dentry = self.slab_alloc("dentry");
        let (name_buf, _) = self.kmalloc(64);
        self.write_bytes(name_buf, format!("{name}\0").as_bytes());
        self.write_u64(dentry + self.k.o("dentry.d_name.name"), name_buf);
        self.write_u32(dentry + self.k.o("dentry.d_name.len"), name.len() as u32);
        self.write_u64(dentry + self.k.o("dentry.d_parent"), dentry);
        let inode = self.slab_alloc("inode_cache");
        self.write_u16(inode + self.k.o("inode.i_mode"), 0o100644);
        self.write_u64(file + self.k.o("file.f_path.dentry"), dentry);
        self.write_u64(file + self.k.o("file.f_inode"), inode);
        let fop = self.ksym("ext4_file_operations");
        self.write_u64(file + self.k.o("file.f_op"), fop);
        self.write_u64(file + self.k.o("file.f_count"), 1);
        self.install_fd(task, fd, file);
        file
    }

    /// Install an already-open file at another fd (dup, or a file shared by two tasks).
    pub fn dup_fd(&mut self, task: usize, fd: u32, file: u64) {
        self.install_fd(task, fd, file);
    }

    /// The `struct file` of a socket.
    pub fn socket_file(&self, s: SockId) -> u64 {
        let sock = self.sockets[s.0].sock;
        let socket = self.read_u64(sock + self.k.o("sock.sk_socket"));
        self.read_u64(socket + self.k.o("socket.file"))
    }
}

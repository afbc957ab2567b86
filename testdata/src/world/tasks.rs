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
        let root = self.ksym("init_css_set");
        self.write_u64(t + self.k.o("task_struct.cgroups"), root);
        self.tasks.push(Task {
            addr: t,
            files,
            fd_array,
            max_fds,
        });
        self.tasks.len() - 1
    }

    /// The root cgroup of the default hierarchy: `init_css_set`'s `dfl_cgrp`, whose kernfs
    /// node is named "" and has no parent; `init_task` in it.
    pub(super) fn init_cgroups(&mut self) {
        let root = self.ksym("init_css_set");
        let kn = self.new_kernfs_node(0, "");
        let (cgrp, _) = self.kmalloc(self.k.o("cgroup"));
        self.write_u64(cgrp + self.k.o("cgroup.kn"), kn);
        self.write_u64(root + self.k.o("css_set.dfl_cgrp"), cgrp);
        let init = self.ksym("init_task");
        self.write_u64(init + self.k.o("task_struct.cgroups"), root);
        self.cgroups.insert("/".into(), (root, kn));
    }

    fn new_kernfs_node(&mut self, parent: u64, name: &str) -> u64 {
        let (kn, _) = self.kmalloc(self.k.o("kernfs_node"));
        let (s, _) = self.kmalloc(name.len() as u64 + 1);
        self.write_bytes(s, format!("{name}\0").as_bytes());
        self.write_u64(kn + self.k.o("kernfs_node.name"), s);
        self.write_u64(kn + self.k.o("kernfs_node.parent"), parent);
        kn
    }

    /// The `css_set` of the cgroup at `path` (`/a/b`), made with its kernfs nodes (and those of
    /// every ancestor) when first asked for.
    pub(crate) fn css_set_of(&mut self, path: &str) -> u64 {
        if let Some(&(css, _)) = self.cgroups.get(path) {
            return css;
        }
        let (parent, name) = path.rsplit_once('/').expect("a cgroup path starts with /");
        let parent = if parent.is_empty() { "/" } else { parent };
        self.css_set_of(parent);
        let parent_kn = self.cgroups[parent].1;
        let kn = self.new_kernfs_node(parent_kn, name);
        let (cgrp, _) = self.kmalloc(self.k.o("cgroup"));
        self.write_u64(cgrp + self.k.o("cgroup.kn"), kn);
        let (css, _) = self.kmalloc(self.k.o("css_set"));
        self.write_u64(css + self.k.o("css_set.dfl_cgrp"), cgrp);
        self.cgroups.insert(path.to_string(), (css, kn));
        css
    }

    /// Move a task (and so the sockets it holds) into the cgroup at `path` on the default
    /// hierarchy (`/kubepods.slice/…/cri-containerd-<id>.scope`).
    pub fn set_cgroup(&mut self, task: usize, path: &str) {
        let css = self.css_set_of(path);
        let t = self.tasks[task].addr;
        self.write_u64(t + self.k.o("task_struct.cgroups"), css);
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
        let css = self.read_u64(leader + self.k.o("task_struct.cgroups"));
        self.write_u64(t + self.k.o("task_struct.cgroups"), css);
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

    /// A new `struct file` (from `filp`) with `f_op` = `&fops`, one reference and
    /// `private_data`: its address.
    pub(super) fn new_file(&mut self, fops: &str, private_data: u64) -> u64 {
        let file = self.slab_alloc("filp");
        let fop = self.ksym(fops);
        self.write_u64(file + self.k.o("file.f_op"), fop);
        self.write_u64(file + self.k.o("file.f_count"), 1);
        self.write_u64(file + self.k.o("file.private_data"), private_data);
        file
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

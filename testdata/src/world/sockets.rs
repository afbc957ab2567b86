//! Sockets: created from a [`SockSpec`](super::SockSpec), put in the TCP/UDP hash tables,
//! orphans and mini-sockets.

use super::*;

impl World {
    /// Create a socket held by `task` at `fd`.
    pub fn add_socket(&mut self, task: usize, pid: i32, fd: u32, spec: SockSpec) -> SockId {
        let sk = self.new_sock(&spec, true);
        let kk = Arc::clone(&self.k);
        let k = |s: &str| kk.o(s);
        let stype = if matches!(spec.kind, SockKind::Udp | SockKind::UnixDgram) {
            2
        } else {
            1
        };
        let socket = self.slab_alloc("sock_inode_cache");
        self.write_u32(socket + k("socket.state"), spec.ss_state);
        self.write_u16(socket + k("socket.type"), stype);
        self.write_u64(socket + k("socket.sk"), sk);
        self.write_u64(sk + k("sock.sk_socket"), socket);
        let file = self.new_file("socket_file_ops", socket);
        let inode = self.slab_alloc("inode_cache");
        self.write_u16(inode + k("inode.i_mode"), 0o140777);
        self.write_u64(file + k("file.f_inode"), inode);
        self.write_u64(socket + k("socket.file"), file);
        self.install_fd(task, fd, file);
        self.sockets.push(ExpectedSocket {
            sock: sk,
            pid,
            fd,
            spec,
            skbs: Vec::new(),
            rmem_alloc: 0,
            wmem_queued: 0,
        });
        SockId(self.sockets.len() - 1)
    }

    /// A TCP socket no fd reaches (closed by its process, still holding data: e.g. FIN_WAIT1 with an
    /// unsent write queue). It is only in `tcp_hashinfo.ehash`. Recorded with pid -1 and fd `u32::MAX`.
    pub fn add_orphan(&mut self, spec: SockSpec) -> SockId {
        let sk = self.new_sock(&spec, true);
        self.sockets.push(ExpectedSocket {
            sock: sk,
            pid: -1,
            fd: u32::MAX,
            spec,
            skbs: Vec::new(),
            rmem_alloc: 0,
            wmem_queued: 0,
        });
        SockId(self.sockets.len() - 1)
    }

    /// A `TIME_WAIT` (`inet_timewait_sock`) or `NEW_SYN_RECV` (`request_sock`) mini-socket in the
    /// established hash; returns its address.
    pub fn add_mini_sock(
        &mut self,
        state: u8,
        local: ([u8; 4], u16),
        remote: ([u8; 4], u16),
    ) -> u64 {
        let (cache, obj) = if state == 6 {
            ("tw_sock_TCP", "inet_timewait_sock")
        } else {
            ("request_sock_TCP", "request_sock")
        };
        if !self.caches.contains_key(cache) {
            let size = align(self.k.o(obj), 64);
            self.new_cache(cache, size, 0);
        }
        let sk = self.slab_alloc(cache);
        let kk = Arc::clone(&self.k);
        let k = |s: &str| kk.o(s);
        self.write_u16(sk + k("sock.__sk_common.skc_family"), 2);
        self.write_bytes(sk + k("sock.__sk_common.skc_state"), &[state]);
        self.write_bytes(sk + k("sock.__sk_common.skc_rcv_saddr"), &local.0);
        self.write_bytes(sk + k("sock.__sk_common.skc_daddr"), &remote.0);
        self.write_u16(sk + k("sock.__sk_common.skc_num"), local.1);
        self.write_bytes(
            sk + k("sock.__sk_common.skc_dport"),
            &remote.1.to_be_bytes(),
        );
        self.hash_insert(sk, "ehash", (local.1 ^ remote.1) as u64);
        self.mini_socks.push((sk, state));
        sk
    }

    /// Mini-sockets added, `(address, state)`.
    pub fn mini_socks(&self) -> &[(u64, u8)] {
        &self.mini_socks
    }

    pub(super) fn init_hash_tables(&mut self) {
        let kk = Arc::clone(&self.k);
        let k = |s: &str| kk.o(s);
        let hi = self.ksym("tcp_hashinfo");
        let (ehash, _) = self.kmalloc(EHASH_SIZE * k("inet_ehash_bucket"));
        for i in 0..EHASH_SIZE {
            self.write_u64(ehash + i * k("inet_ehash_bucket"), (i << 1) | 1);
        }
        self.write_u64(hi + k("inet_hashinfo.ehash"), ehash);
        self.write_u32(hi + k("inet_hashinfo.ehash_mask"), (EHASH_SIZE - 1) as u32);
        let (lhash, _) = self.kmalloc(LHASH_SIZE * k("inet_listen_hashbucket"));
        for i in 0..LHASH_SIZE {
            let h =
                lhash + i * k("inet_listen_hashbucket") + k("inet_listen_hashbucket.nulls_head");
            self.write_u64(h, (i << 1) | 1);
        }
        self.write_u64(hi + k("inet_hashinfo.lhash2"), lhash);
        self.write_u32(hi + k("inet_hashinfo.lhash2_mask"), (LHASH_SIZE - 1) as u32);
        if kk.has("inet_hashinfo.listening_hash") {
            // before 5.19 listeners are in listening_hash[32] (nulls lists), lhash2 chains plain
            // hlists through icsk_listen_portaddr_node, which the fixtures leave empty
            for i in 0..LHASH_SIZE {
                let h = lhash
                    + i * k("inet_listen_hashbucket")
                    + k("inet_listen_hashbucket.nulls_head");
                self.write_u64(h, 0);
            }
            for i in 0..OLD_LISTENING_HASH_SIZE {
                let h = hi
                    + k("inet_hashinfo.listening_hash")
                    + i * k("inet_listen_hashbucket")
                    + k("inet_listen_hashbucket.nulls_head");
                self.write_u64(h, (i << 1) | 1);
            }
        }
        let ut = self.ksym("udp_table");
        let (hash, _) = self.kmalloc(UDP_HASH_SIZE * k("udp_hslot"));
        self.write_u64(ut + k("udp_table.hash"), hash);
        self.write_u32(ut + k("udp_table.mask"), (UDP_HASH_SIZE - 1) as u32);
    }

    /// Insert a sock at the head of a chain: `ehash`/`lhash2` (nulls lists via `skc_nulls_node`) or
    /// `udp` (`skc_node`).
    pub(super) fn hash_insert(&mut self, sk: u64, table: &str, hash: u64) {
        let kk = Arc::clone(&self.k);
        let k = |s: &str| kk.o(s);
        let (head, node) = match table {
            "ehash" => {
                let base = self.read_u64(self.ksym("tcp_hashinfo") + k("inet_hashinfo.ehash"));
                (
                    base + (hash & (EHASH_SIZE - 1)) * k("inet_ehash_bucket"),
                    sk + k("sock.__sk_common.skc_nulls_node"),
                )
            }
            "lhash2" if kk.has("inet_hashinfo.listening_hash") => {
                let b = self.ksym("tcp_hashinfo")
                    + k("inet_hashinfo.listening_hash")
                    + (hash & (OLD_LISTENING_HASH_SIZE - 1)) * k("inet_listen_hashbucket");
                (
                    b + k("inet_listen_hashbucket.nulls_head"),
                    sk + k("sock.__sk_common.skc_nulls_node"),
                )
            }
            "lhash2" => {
                let base = self.read_u64(self.ksym("tcp_hashinfo") + k("inet_hashinfo.lhash2"));
                let b = base + (hash & (LHASH_SIZE - 1)) * k("inet_listen_hashbucket");
                (
                    b + k("inet_listen_hashbucket.nulls_head"),
                    sk + k("sock.__sk_common.skc_nulls_node"),
                )
            }
            _ => {
                let base = self.read_u64(self.ksym("udp_table") + k("udp_table.hash"));
                (
                    base + (hash & (UDP_HASH_SIZE - 1)) * k("udp_hslot") + k("udp_hslot.head"),
                    sk + k("sock.__sk_common.skc_node"),
                )
            }
        };
        let first = self.read_u64(head);
        self.write_u64(node, first);
        self.write_u64(node + 8, head);
        if first & 1 == 0 && first != 0 {
            self.write_u64(first + 8, node);
        }
        self.write_u64(head, node);
    }

    /// Allocate and fill a `struct sock` (hashed into the TCP/UDP tables when `hashed`).
    pub(super) fn new_sock(&mut self, spec: &SockSpec, hashed: bool) -> u64 {
        let (cache, obj, family, stype) = match spec.kind {
            SockKind::Tcp => ("TCP", "tcp_sock", 2u16, 1u16),
            SockKind::Tcp6 => ("TCPv6", "tcp_sock", 10, 1),
            SockKind::Udp => ("UDP", "udp_sock", 2, 2),
            SockKind::UnixStream => ("UNIX", "unix_sock", 1, 1),
            SockKind::UnixDgram => ("UNIX", "unix_sock", 1, 2),
        };
        if !self.caches.contains_key(cache) {
            let size = align(self.k.o(obj), 64);
            self.new_cache(cache, size, 3);
        }
        let sk = self.slab_alloc(cache);
        let kk = Arc::clone(&self.k);
        let k = |s: &str| kk.o(s);
        let (o_family, o_state, o_type, o_proto) = (
            k("sock.__sk_common.skc_family"),
            k("sock.__sk_common.skc_state"),
            k("sock.sk_type"),
            k("sock.sk_protocol"),
        );
        self.write_u16(sk + o_family, family);
        let state = if matches!(spec.kind, SockKind::Tcp | SockKind::Tcp6) {
            spec.tcp_state
        } else {
            spec.tcp_state.max(7)
        };
        self.write_bytes(sk + o_state, &[state]);
        self.write_u16(sk + o_type, stype);
        let proto = match spec.kind {
            SockKind::Tcp | SockKind::Tcp6 => 6,
            SockKind::Udp => 17,
            _ => 0,
        };
        self.write_u16(sk + o_proto, proto);
        self.write_bytes(sk + k("sock.__sk_common.skc_rcv_saddr"), &spec.local.0);
        self.write_bytes(sk + k("sock.__sk_common.skc_daddr"), &spec.remote.0);
        self.write_u16(sk + k("sock.__sk_common.skc_num"), spec.local.1);
        self.write_bytes(
            sk + k("sock.__sk_common.skc_dport"),
            &spec.remote.1.to_be_bytes(),
        );
        if spec.kind == SockKind::Tcp6 {
            let mapped = |a: [u8; 4]| {
                let mut v = [0u8; 16];
                v[10] = 0xff;
                v[11] = 0xff;
                v[12..].copy_from_slice(&a);
                v
            };
            self.write_bytes(
                sk + k("sock.__sk_common.skc_v6_rcv_saddr"),
                &mapped(spec.local.0),
            );
            self.write_bytes(
                sk + k("sock.__sk_common.skc_v6_daddr"),
                &mapped(spec.remote.0),
            );
        }
        self.write_u32(sk + k("sock.sk_rcvbuf"), spec.bufs.0 as u32);
        self.write_u32(sk + k("sock.sk_sndbuf"), spec.bufs.1 as u32);
        for q in [
            "sock.sk_receive_queue",
            "sock.sk_error_queue",
            "sock.sk_write_queue",
        ] {
            let h = sk + k(q);
            self.write_u64(h, h);
            self.write_u64(h + 8, h);
        }
        if let Some(path) = &spec.unix_path {
            let (addr, _) = self.kmalloc(8 + 110);
            let len = 2 + path.len() + 1;
            self.write_u32(addr + k("unix_address.len"), len as u32);
            let name = addr + k("unix_address.name");
            self.write_u16(name, 1);
            self.write_bytes(name + 2, format!("{path}\0").as_bytes());
            self.write_u64(sk + k("unix_sock.addr"), addr);
        }
        if hashed {
            match spec.kind {
                SockKind::Tcp | SockKind::Tcp6 if spec.tcp_state == 10 => {
                    self.hash_insert(sk, "lhash2", spec.local.1 as u64)
                }
                SockKind::Tcp | SockKind::Tcp6 => {
                    self.hash_insert(sk, "ehash", (spec.local.1 ^ spec.remote.1) as u64)
                }
                SockKind::Udp => self.hash_insert(sk, "udp", spec.local.1 as u64),
                _ => {}
            }
        }
        sk
    }
}

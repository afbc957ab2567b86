//! skbs: built from an [`SkbSpec`](super::SkbSpec) (head, frags, `frag_list`), queued as lists
//! or rbtrees, and recorded as [`ExpectedSkb`](super::ExpectedSkb)s.

use super::*;

impl World {
    /// Build one skb (and its frag_list children) in memory; returns its address and records.
    pub(super) fn build_skb(
        &mut self,
        spec: &SkbSpec,
        sk: u64,
        queue: Queue,
        parent: Option<u64>,
        out: &mut Vec<ExpectedSkb>,
    ) -> u64 {
        let k = |w: &World, s: &str| w.k.o(s);
        let cache = if spec.fclone {
            "skbuff_fclone_cache"
        } else {
            "skbuff_head_cache"
        };
        let skb = self.slab_alloc(cache);
        let struct_bytes = self.cache_size(cache);
        let shinfo_size = skb_data_align(k(self, "skb_shared_info"));
        let mut pages = BTreeMap::new();
        let (head, head_size, head_bytes, head_frag) = match spec.head {
            Head::Kmalloc => {
                let want = skb_data_align(HEADROOM + spec.linear as u64) + shinfo_size;
                let (a, slot) = self.kmalloc(want);
                (a, slot, slot, false)
            }
            Head::Frag1k => {
                let size = 1024u64;
                assert!(
                    skb_data_align(HEADROOM + spec.linear as u64) + shinfo_size <= size,
                    "linear too big for a 1k head"
                );
                let (hp, off) = self.frag_alloc("napi1k", 0, size);
                let pfn = (hp - self.cfg.vmemmap_base) / k(self, "page");
                pages.insert(hp, 0);
                (self.virt(pfn * self.page_size() + off), size, 0, true)
            }
            Head::Frag32k => {
                let size = skb_data_align(HEADROOM + spec.linear as u64) + shinfo_size;
                let (hp, off) = self.frag_alloc("tx", self.frag_order(), size);
                let pfn = (hp - self.cfg.vmemmap_base) / k(self, "page");
                pages.insert(hp, self.frag_order());
                (self.virt(pfn * self.page_size() + off), size, 0, true)
            }
        };
        let end = head_size - shinfo_size;
        let shinfo = head + end;
        let mut frags = Vec::new();
        for (i, &(size, src)) in spec.frags.iter().enumerate() {
            let (hp, off, page) = match src {
                FragSrc::Virtio => {
                    let (hp, off) = self.virtio_frag(size);
                    (hp, off, hp)
                }
                FragSrc::Tx => {
                    let (hp, off) = self.frag_alloc("tx", self.frag_order(), size as u64);
                    (hp, off, hp)
                }
                FragSrc::TailPage => {
                    let (hp, off) = self.frag_alloc("tx", self.frag_order(), size as u64);
                    let page = self.page_size();
                    let tail = hp + (off / page) * k(self, "page");
                    (hp, off % page, tail)
                }
            };
            pages.insert(hp, self.frag_order());
            let f = shinfo + k(self, "skb_shared_info.frags") + i as u64 * k(self, "frag");
            self.write_u64(f + k(self, "frag.page"), page);
            self.write_u32(f + k(self, "frag.len"), size);
            self.write_u32(f + k(self, "frag.offset"), off as u32);
            frags.push(ExpectedFrag {
                page,
                head: hp,
                order: self.frag_order(),
                offset: off as u32,
                size,
            });
        }
        self.write_bytes(
            shinfo + k(self, "skb_shared_info.nr_frags"),
            &[spec.frags.len() as u8],
        );
        self.write_u32(shinfo + k(self, "skb_shared_info.dataref"), 1);
        let data_len: u32 = spec.frags.iter().map(|f| f.0).sum();
        let mut truesize = (skb_data_align(k(self, "sk_buff")) + head_size) as u32
            + spec
                .frags
                .iter()
                .map(|f| align(f.0 as u64, 64).max(1536) as u32)
                .sum::<u32>();
        self.write_u64(skb + k(self, "sk_buff.head"), head);
        self.write_u64(skb + k(self, "sk_buff.data"), head + HEADROOM);
        self.write_u32(
            skb + k(self, "sk_buff.tail"),
            (HEADROOM + spec.linear as u64) as u32,
        );
        self.write_u32(skb + k(self, "sk_buff.end"), end as u32);
        self.write_u64(skb + k(self, "sk_buff.sk"), sk);
        self.write_u32(skb + k(self, "sk_buff.users"), 1);
        if head_frag {
            self.set_bit(skb, k(self, "sk_buff.head_frag@bit"));
        }
        if spec.fclone {
            self.set_bit(skb, k(self, "sk_buff.fclone@bit"));
        }
        let idx = out.len();
        out.push(ExpectedSkb {
            addr: skb,
            queue,
            parent,
            len: 0,
            data_len: 0,
            truesize: 0,
            head_frag,
            frags,
            pages,
            page_size: self.page_size(),
            head_bytes,
            struct_bytes,
        });
        // frag_list children: linked by ->next, NULL-terminated.
        let mut child_len = 0u32;
        let mut prev: Option<u64> = None;
        for c in &spec.frag_list {
            let before = out.len();
            let ca = self.build_skb(c, sk, queue, Some(skb), out);
            child_len += out[before].len;
            truesize += out[before].truesize;
            match prev {
                None => self.write_u64(shinfo + k(self, "skb_shared_info.frag_list"), ca),
                Some(p) => self.write_u64(p + k(self, "sk_buff.next"), ca),
            }
            prev = Some(ca);
        }
        let len = spec.linear + data_len + child_len;
        self.write_u32(skb + k(self, "sk_buff.len"), len);
        self.write_u32(skb + k(self, "sk_buff.data_len"), data_len + child_len);
        self.write_u32(skb + k(self, "sk_buff.truesize"), truesize);
        let e = &mut out[idx];
        e.len = len;
        e.data_len = data_len + child_len;
        e.truesize = truesize;
        skb
    }

    /// Queue skbs on a socket (list queues in order; rbtree queues sorted in the order given).
    pub fn queue(&mut self, s: SockId, queue: Queue, specs: &[SkbSpec]) {
        let sk = self.sockets[s.0].sock;
        let mut recs = Vec::new();
        let mut tops = Vec::new();
        for spec in specs {
            tops.push(self.build_skb(spec, sk, queue, None, &mut recs));
        }
        let truesize: i64 = recs
            .iter()
            .filter(|r| r.parent.is_none())
            .map(|r| r.truesize as i64)
            .sum();
        match queue {
            Queue::OutOfOrder | Queue::Retransmit => {
                let root = if queue == Queue::OutOfOrder {
                    sk + self.k.o("tcp_sock.out_of_order_queue")
                } else {
                    sk + self.k.o("sock.tcp_rtx_queue")
                };
                let r = self.build_rbtree(&tops, 0);
                self.write_u64(root, r);
            }
            _ => {
                let field = match queue {
                    Queue::Receive => "sock.sk_receive_queue",
                    Queue::Write => "sock.sk_write_queue",
                    _ => "sock.sk_error_queue",
                };
                let h = sk + self.k.o(field);
                let (o_next, o_prev) = (self.k.o("sk_buff.next"), self.k.o("sk_buff.prev"));
                let mut prev = self.read_u64(h + 8);
                for &skb in &tops {
                    self.write_u64(skb + o_prev, prev);
                    self.write_u64(skb + o_next, h);
                    if prev == h {
                        self.write_u64(h, skb);
                    } else {
                        self.write_u64(prev + o_next, skb);
                    }
                    prev = skb;
                }
                self.write_u64(h + 8, prev);
                let ql =
                    self.read_u64(h + self.k.o("sk_buff_head.qlen")) as u32 + tops.len() as u32;
                self.write_u32(h + self.k.o("sk_buff_head.qlen"), ql);
            }
        }
        let sock = &mut self.sockets[s.0];
        match queue {
            Queue::Receive | Queue::OutOfOrder | Queue::Error => sock.rmem_alloc += truesize as i32,
            _ => sock.wmem_queued += truesize as i32,
        }
        let (rm, wq) = (sock.rmem_alloc, sock.wmem_queued);
        self.write_u32(sk + self.k.o("sock.sk_backlog.rmem_alloc"), rm as u32);
        self.write_u32(sk + self.k.o("sock.sk_wmem_queued"), wq as u32);
        self.sockets[s.0].skbs.extend(recs);
        // Keep the record in walk order: queue by queue as skbwalk reports them.
        self.sockets[s.0].skbs.sort_by_key(|r| r.queue);
    }

    /// Balanced binary tree over `skbs` (in-order = given order); returns the root's rb_node address.
    pub(super) fn build_rbtree(&mut self, skbs: &[u64], parent: u64) -> u64 {
        if skbs.is_empty() {
            return 0;
        }
        let mid = skbs.len() / 2;
        let node = skbs[mid] + self.k.o("sk_buff.rbnode");
        self.write_u64(node + self.k.o("rb_node.__rb_parent_color"), parent | 1);
        let l = self.build_rbtree(&skbs[..mid], node);
        let r = self.build_rbtree(&skbs[mid + 1..], node);
        self.write_u64(node + self.k.o("rb_node.rb_left"), l);
        self.write_u64(node + self.k.o("rb_node.rb_right"), r);
        node
    }
}

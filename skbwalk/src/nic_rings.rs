//! NIC receive and transmit rings: the buffers posted to a virtio NIC's virtqueues (the
//! `receive_mergeable` buffers of the incident, before any skb holds them) and the ring memory
//! itself, from the virtio core's own structures.
//!
//! | step | how |
//! |---|---|
//! | the NICs | every `net_device` on `init_net.dev_base_head` whose parent device is on the bus named "virtio" (its `virtio_device` embeds the `struct device`) |
//! | the queues | the device's `vqs` list of `struct virtqueue`, each embedded at the start of a `vring_virtqueue` (split rings; packed rings are left out with a note) |
//! | posted buffers | each head `i` with `split.desc_state[i].data` set: the chain of `split.vring.desc[]` from it (`VRING_DESC_F_NEXT`), an indirect table (`VRING_DESC_F_INDIRECT`) read entry by entry; each descriptor's `addr` is a guest-physical address when the queue does not use the DMA API (`use_dma_api` false: QEMU's devices without `VIRTIO_F_ACCESS_PLATFORM`) |
//! | ring memory | `split.vring.desc` for `split.queue_size_in_bytes` bytes, in the direct map |
//!
//! `vring_virtqueue` is in vmlinux's BTF where the virtio core is built in (Debian 6.12+); where
//! it is a module (Debian 6.1) it is in the `virtio_ring` module's BTF, which the kernel keeps
//! (`module_types`). A kernel without module BTF whose virtio core is a module (Debian 5.10) has
//! the type nowhere the dump holds: the rings are not named and their pages stay with the
//! reverse-reference scan.

use crate::le::{u16_at, u32_at, u64_at};
use crate::warnings::{WarningKind, Warnings};
use crate::Kernel;

/// `VRING_DESC_F_NEXT`, `VRING_DESC_F_INDIRECT`.
const F_NEXT: u16 = 1;
const F_INDIRECT: u16 = 4;
/// Most net devices, queues per device and descriptors per queue followed (a virtqueue has at
/// most 32768 descriptors).
const MAX_NETDEVS: usize = 1 << 16;
const MAX_QUEUES: usize = 1 << 12;
const MAX_DESCS: u64 = 1 << 15;
/// Most bytes of one descriptor taken as one buffer (a 64 KiB packet in 4 KiB pages is 16).
const MAX_BUFFER: u64 = 1 << 20;

/// How a queue says it is packed.
enum Packed {
    Flag(u64),
    Layout(u64, Vec<i64>),
}

/// Where the virtio core keeps its rings.
struct Layout {
    dev_list: u64,
    nd_dev: u64,
    nd_name: u64,
    dev_parent: u64,
    dev_bus: u64,
    bus_name: u64,
    vdev_dev: u64,
    vdev_vqs: u64,
    vq_list: u64,
    vq_name: u64,
    vvq_vq: u64,
    /// `packed_ring` (bool), or 7.x's `layout` (`enum vq_layout`) with the values of its split
    /// layouts.
    packed: Packed,
    /// `use_dma_api`, 7.x's `use_map_api`.
    use_dma_api: u64,
    num: u64,
    desc: u64,
    desc_state: u64,
    queue_bytes: u64,
    state_size: u64,
}

impl Layout {
    fn resolve(k: &Kernel) -> std::result::Result<Layout, kstructs::Error> {
        let t = &k.types;
        let m = |ty: &str, f: &str| t.member(ty, f).map(|m| m.offset);
        // first the virtio core's own type: a kernel without it has no ring to name
        t.size_of("vring_virtqueue")?;
        Ok(Layout {
            dev_list: m("net_device", "dev_list")?,
            nd_dev: m("net_device", "dev")?,
            nd_name: m("net_device", "name")?,
            dev_parent: m("device", "parent")?,
            dev_bus: m("device", "bus")?,
            bus_name: m("bus_type", "name")?,
            vdev_dev: m("virtio_device", "dev")?,
            vdev_vqs: m("virtio_device", "vqs")?,
            vq_list: m("virtqueue", "list")?,
            vq_name: m("virtqueue", "name")?,
            vvq_vq: m("vring_virtqueue", "vq")?,
            packed: match m("vring_virtqueue", "packed_ring") {
                Ok(at) => Packed::Flag(at),
                Err(_) => Packed::Layout(
                    m("vring_virtqueue", "layout")?,
                    ["VQ_LAYOUT_SPLIT", "VQ_LAYOUT_SPLIT_IN_ORDER"]
                        .iter()
                        .filter_map(|e| t.enum_value("vq_layout", e).ok())
                        .collect(),
                ),
            },
            use_dma_api: t
                .first_member("vring_virtqueue", &["use_dma_api", "use_map_api"])?
                .1
                .offset,
            num: m("vring_virtqueue", "split.vring.num")?,
            desc: m("vring_virtqueue", "split.vring.desc")?,
            desc_state: m("vring_virtqueue", "split.desc_state")?,
            queue_bytes: m("vring_virtqueue", "split.queue_size_in_bytes")?,
            state_size: t.size_of("struct vring_desc_state_split")?,
        })
    }
}

/// Whether `dev` is on the virtio bus: its `bus` is the `bus_type` named "virtio" (the bus's
/// own name; its symbol, `virtio_bus`, is a module's where the virtio core is one).
fn on_virtio_bus(k: &Kernel, l: &Layout, dev: u64) -> bool {
    k.u64(dev + l.dev_bus, "device.bus")
        .and_then(|bus| k.ptr(bus, "device.bus"))
        .and_then(|bus| k.u64(bus + l.bus_name, "bus_type.name"))
        .and_then(|name| k.cstr(name, 16, "bus_type.name"))
        .is_ok_and(|name| name == "virtio")
}

/// What one queue holds: `holder` (`eth0 input.0 buffers`, `eth0 input.0 ring`) and the head
/// `struct page`s of its pages.
pub(crate) struct Held {
    pub holder: String,
    pub pages: Vec<u64>,
}

/// The pages of every virtio NIC's rings: for each queue its posted buffers and its ring memory.
/// A queue that cannot be read is a warning; a kernel without the virtio core's types has none.
pub(crate) fn nic_rings(k: &Kernel, w: &mut Warnings) -> Vec<Held> {
    let mut n = Vec::new();
    rings(k, &mut n, w);
    n
}

fn rings(k: &Kernel, n: &mut Vec<Held>, w: &mut Warnings) {
    // where the virtio core is a module, its types are in the modules' BTF
    crate::module_types::load(k, w);
    let l = match Layout::resolve(k) {
        Ok(l) => l,
        // no virtio core in the kernel's or its modules' types: no ring to name
        Err(kstructs::Error::TypeNotFound { .. }) => return,
        // a layout this walk does not know, or damaged debug information
        Err(e) => {
            let e = k.layout_error(e);
            w.push(
                WarningKind::of(&e),
                None,
                format!("NIC rings: {e}: not named"),
            );
            return;
        }
    };
    let Ok(net) = k.global("init_net") else {
        return;
    };
    let Ok(head) = k
        .types
        .member("net", "dev_base_head")
        .map(|m| net + m.offset)
    else {
        return;
    };
    for nd in crate::links::list_entries(k, head, l.dev_list, MAX_NETDEVS, "dev_base_head", w) {
        let parent = k
            .u64(nd + l.nd_dev + l.dev_parent, "net_device.dev.parent")
            .unwrap_or(0);
        if parent == 0 || !on_virtio_bus(k, &l, parent) {
            continue;
        }
        let name = k
            .cstr(nd + l.nd_name, 16, "net_device.name")
            .unwrap_or_else(|_| format!("{nd:#x}"));
        let vdev = parent.wrapping_sub(l.vdev_dev);
        for vq in crate::links::list_entries(
            k,
            vdev + l.vdev_vqs,
            l.vq_list,
            MAX_QUEUES,
            "virtio_device.vqs",
            w,
        ) {
            let vvq = vq.wrapping_sub(l.vvq_vq);
            let qname = k
                .u64(vq + l.vq_name, "virtqueue.name")
                .and_then(|p| k.cstr(p, 32, "virtqueue.name"))
                .unwrap_or_else(|_| format!("{vq:#x}"));
            if let Err(e) = queue(k, &l, vvq, &format!("{name} {qname}"), n, w) {
                w.push(
                    WarningKind::of(&e),
                    Some(vvq),
                    format!("owners of allocpage: {name} virtqueue {qname}: {e}"),
                );
            }
        }
    }
}

/// One split virtqueue at `vvq`, named `what`.
fn queue(
    k: &Kernel,
    l: &Layout,
    vvq: u64,
    what: &str,
    n: &mut Vec<Held>,
    w: &mut Warnings,
) -> crate::Result<()> {
    let packed = match &l.packed {
        Packed::Flag(at) => k.u8(vvq + at, "vring_virtqueue.packed_ring")? != 0,
        Packed::Layout(at, split) => {
            !split.contains(&i64::from(k.u32(vvq + at, "vring_virtqueue.layout")?))
        }
    };
    if packed {
        w.push(
            WarningKind::Unsupported,
            Some(vvq),
            format!("{what}: a packed virtqueue; its buffers are not named"),
        );
        return Ok(());
    }
    let num = u64::from(k.u32(vvq + l.num, "split.vring.num")?).min(MAX_DESCS);
    let desc = k.ptr(k.u64(vvq + l.desc, "split.vring.desc")?, "split.vring.desc")?;
    let ps = k.page_size().max(1);
    // the ring memory: queue_size_in_bytes from desc, in the direct map
    let bytes = k
        .u64(vvq + l.queue_bytes, "split.queue_size_in_bytes")?
        .min(MAX_DESCS * 64);
    if let Some(first) = k.direct_pfn(desc) {
        n.push(Held {
            holder: format!("{what} ring"),
            pages: (first..=(desc + bytes.max(1) - 1) / ps - desc / ps + first)
                .filter_map(|pfn| k.pfn_to_page(pfn).ok().flatten())
                .collect(),
        });
    }
    if k.u8(vvq + l.use_dma_api, "vring_virtqueue.use_dma_api")? != 0 {
        w.push(
            WarningKind::Unsupported,
            Some(vvq),
            format!("{what}: the queue uses the DMA API (its descriptors hold bus addresses); its buffers are not named"),
        );
        return Ok(());
    }
    let states = k.bytes(
        k.ptr(
            k.u64(vvq + l.desc_state, "split.desc_state")?,
            "split.desc_state",
        )?,
        (num * l.state_size) as usize,
        "desc_state[]",
    )?;
    let ring = k.bytes(desc, (num * 16) as usize, "split.vring.desc[]")?;
    // a `struct vring_desc` (16 bytes, little-endian: virtio 1.0): addr, len, flags, next
    let entry = |table: &[u8], i: u64| -> Option<(u64, u64, u16, u16)> {
        let e = table.get((i * 16) as usize..(i * 16 + 16) as usize)?;
        Some((
            u64_at(e, 0),
            u64::from(u32_at(e, 8)),
            u16_at(e, 12),
            u16_at(e, 14),
        ))
    };
    let mut buffers = Vec::new();
    let claim = |addr: u64, len: u64, out: &mut Vec<u64>| {
        let len = len.min(MAX_BUFFER);
        if len == 0 {
            return;
        }
        for pfn in addr / ps..=(addr + len - 1) / ps {
            if let Ok(Some(page)) = k.pfn_to_page(pfn) {
                out.push(crate::page::head_of(k, page));
            }
        }
    };
    for i in 0..num {
        let data = states
            .get((i * l.state_size) as usize..(i * l.state_size + 8) as usize)
            .map_or(0, |b| u64_at(b, 0));
        if data == 0 {
            continue;
        }
        // the chain from head i (at most num descriptors)
        let mut j = i;
        for _ in 0..num {
            let Some((addr, len, flags, next)) = entry(&ring, j) else {
                break;
            };
            if flags & F_INDIRECT != 0 {
                // an indirect table: len / 16 descriptors at guest-physical addr
                let va = k.pfn_va(addr / ps).map(|v| v + addr % ps);
                if let Some(table) = va.and_then(|v| {
                    k.bytes(v, len.min(MAX_DESCS * 16) as usize, "indirect table")
                        .ok()
                }) {
                    for t in 0..len / 16 {
                        if let Some((a, l2, _, _)) = entry(&table, t) {
                            claim(a, l2, &mut buffers);
                        }
                    }
                }
            } else {
                claim(addr, len, &mut buffers);
            }
            if flags & F_NEXT == 0 {
                break;
            }
            j = u64::from(next);
            if j >= num {
                break;
            }
        }
    }
    n.push(Held {
        holder: format!("{what} buffers"),
        pages: buffers,
    });
    Ok(())
}

//! Sockets: identity (family, type, state, addresses, the kernel's own accounting) and the queues.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::skb::{QueueName, Skb, Walker};
use crate::{Kernel, Result};

const AF_UNIX: u16 = 1;
const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;
const IPPROTO_TCP: u64 = 6;

/// Address family names (ABI numbers from include/linux/socket.h; macros, so not in DWARF).
pub fn family_name(f: u16) -> String {
    match f {
        0 => "AF_UNSPEC".into(),
        AF_UNIX => "AF_UNIX".into(),
        AF_INET => "AF_INET".into(),
        AF_INET6 => "AF_INET6".into(),
        16 => "AF_NETLINK".into(),
        17 => "AF_PACKET".into(),
        40 => "AF_VSOCK".into(),
        44 => "AF_XDP".into(),
        n => format!("AF_{n}"),
    }
}

fn enum_name(k: &Kernel, candidates: &[&str], value: i64) -> Option<String> {
    candidates
        .iter()
        .find(|c| k.types.enumerator(c).ok() == Some(value))
        .map(|s| s.to_string())
}

const SOCK_TYPES: &[&str] = &[
    "SOCK_STREAM",
    "SOCK_DGRAM",
    "SOCK_RAW",
    "SOCK_RDM",
    "SOCK_SEQPACKET",
    "SOCK_DCCP",
    "SOCK_PACKET",
];
const TCP_STATES: &[&str] = &[
    "TCP_ESTABLISHED",
    "TCP_SYN_SENT",
    "TCP_SYN_RECV",
    "TCP_FIN_WAIT1",
    "TCP_FIN_WAIT2",
    "TCP_TIME_WAIT",
    "TCP_CLOSE",
    "TCP_CLOSE_WAIT",
    "TCP_LAST_ACK",
    "TCP_LISTEN",
    "TCP_CLOSING",
    "TCP_NEW_SYN_RECV",
];
const SS_STATES: &[&str] = &[
    "SS_FREE",
    "SS_UNCONNECTED",
    "SS_CONNECTING",
    "SS_CONNECTED",
    "SS_DISCONNECTING",
];

/// `SOCK_*` by ABI number, for debuginfo without `enum sock_type`.
fn sock_type_abi(t: u16) -> String {
    match t {
        1..=6 => SOCK_TYPES[t as usize - 1].to_string(),
        10 => "SOCK_PACKET".into(),
        n => format!("SOCK_{n}"),
    }
}

/// Who a socket is.
#[derive(Debug, Clone)]
pub struct Identity {
    /// `struct socket`.
    pub socket: u64,
    /// `struct sock`.
    pub sock: u64,
    /// `AF_INET`, …
    pub family: String,
    /// `SOCK_STREAM`, …
    pub sock_type: String,
    /// TCP state without prefix, or the `socket.state` name.
    pub state: String,
    /// Local address (`ip:port`) or the AF_UNIX path.
    pub local: Option<String>,
    /// Remote address.
    pub remote: Option<String>,
    /// Whether it is TCP (has the rbtree queues).
    pub is_tcp: bool,
    /// A `TIME_WAIT`/`NEW_SYN_RECV` mini-socket (no queues).
    pub mini: bool,
    /// `sk_rmem_alloc`, `sk_rcvbuf`, `sk_wmem_queued`, `sk_sndbuf` as stored.
    pub kernel_view: KernelView,
}

/// The kernel's own accounting of a socket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct KernelView {
    /// `sk_rmem_alloc`.
    pub sk_rmem_alloc: i64,
    /// `sk_rcvbuf`.
    pub sk_rcvbuf: i64,
    /// `sk_wmem_queued`.
    pub sk_wmem_queued: i64,
    /// `sk_sndbuf`.
    pub sk_sndbuf: i64,
}

fn ip4(b: u32) -> Ipv4Addr {
    Ipv4Addr::from(b.to_le_bytes())
}

/// Read a socket's identity from its `struct socket`.
pub fn identity(k: &Kernel, socket: u64) -> Result<Identity> {
    let socket = Kernel::ptr(socket, "struct socket")?;
    let sk = k.u64(socket + k.off()?.socket_sk, "socket.sk")?;
    if sk == 0 {
        let ss = k.u32(socket + k.off()?.socket_state, "socket.state")?;
        let stype = k.u16(socket + k.off()?.socket_type, "socket.type")?;
        return Ok(Identity {
            socket,
            sock: 0,
            family: "AF_UNSPEC".into(),
            sock_type: sock_type_name(k, stype),
            state: enum_name(k, SS_STATES, i64::from(ss)).unwrap_or_else(|| format!("SS_{ss}")),
            local: None,
            remote: None,
            is_tcp: false,
            mini: false,
            kernel_view: KernelView::default(),
        });
    }
    sock_identity(k, sk, Some(socket))
}

fn sock_type_name(k: &Kernel, stype: u16) -> String {
    enum_name(k, SOCK_TYPES, i64::from(stype)).unwrap_or_else(|| sock_type_abi(stype))
}

fn tcp_state_name(k: &Kernel, st: u8) -> String {
    enum_name(k, TCP_STATES, i64::from(st)).map_or_else(
        || format!("TCP_{st}"),
        |s| s.trim_start_matches("TCP_").to_string(),
    )
}

/// Family, state and addresses from the `sock_common` every socket kind starts with.
fn common(k: &Kernel, sk: u64) -> Result<(u16, u8, Option<String>, Option<String>)> {
    let o = k.off()?;
    let sk = Kernel::ptr(sk, "struct sock")?;
    let family = k.u16(sk + o.sk_family, "sock.skc_family")?;
    let state = k.u8(sk + o.sk_state, "sock.skc_state")?;
    let (local, remote) = match family {
        AF_INET | AF_INET6 => {
            let num = k.u16(sk + o.sk_num, "sock.skc_num")?;
            let dport = u16::from_be(k.u16(sk + o.sk_dport, "sock.skc_dport")?);
            let v4 = |off: u64| k.u32(sk + off, "sock address").map(ip4);
            if family == AF_INET {
                (
                    Some(format!("{}:{num}", v4(o.sk_rcv_saddr)?)),
                    Some(format!("{}:{dport}", v4(o.sk_daddr)?)),
                )
            } else {
                let v6 = |off: Option<u64>| -> Result<String> {
                    match off {
                        Some(off) => {
                            let b: [u8; 16] = k
                                .bytes(sk + off, 16, "sock v6 address")?
                                .try_into()
                                .unwrap_or_default();
                            Ok(Ipv6Addr::from(b).to_string())
                        }
                        None => Ok("?".into()),
                    }
                };
                (
                    Some(format!("[{}]:{num}", v6(o.sk_v6_rcv_saddr)?)),
                    Some(format!("[{}]:{dport}", v6(o.sk_v6_daddr)?)),
                )
            }
        }
        AF_UNIX => (unix_path(k, sk)?, None),
        _ => (None, None),
    };
    Ok((family, state, local, remote))
}

/// Identity of a full `struct sock`, with its `struct socket` when it has one.
pub fn sock_identity(k: &Kernel, sk: u64, socket: Option<u64>) -> Result<Identity> {
    let o = k.off()?;
    let socket = socket
        .map(|s| Kernel::ptr(s, "struct socket"))
        .transpose()?;
    let (family, st, local, remote) = common(k, sk)?;
    let raw_type = k.bytes(sk + o.sk_type.byte, 8, "sock.sk_type")?;
    let sk_type = crate::offsets::Bit {
        byte: 0,
        ..o.sk_type
    }
    .get(&raw_type) as u16;
    let stype = match socket {
        Some(s) => k.u16(s + o.socket_type, "socket.type")?,
        None => sk_type,
    };
    let raw_proto = k.bytes(sk + o.sk_protocol.byte, 8, "sock.sk_protocol")?;
    let protocol = crate::offsets::Bit {
        byte: 0,
        ..o.sk_protocol
    }
    .get(&raw_proto);
    let is_inet = family == AF_INET || family == AF_INET6;
    let is_tcp = is_inet && protocol == IPPROTO_TCP && stype == 1;
    let state = if is_tcp || socket.is_none() {
        tcp_state_name(k, st)
    } else {
        let ss = k.u32(socket.unwrap_or_default() + o.socket_state, "socket.state")?;
        enum_name(k, SS_STATES, i64::from(ss)).unwrap_or_else(|| format!("SS_{ss}"))
    };
    let i32_at = |off: u64, what: &str| k.u32(sk + off, what).map(|v| i64::from(v as i32));
    let kernel_view = KernelView {
        sk_rmem_alloc: i32_at(o.sk_rmem_alloc, "sk_rmem_alloc")?,
        sk_rcvbuf: i32_at(o.sk_rcvbuf, "sk_rcvbuf")?,
        sk_wmem_queued: i32_at(o.sk_wmem_queued, "sk_wmem_queued")?,
        sk_sndbuf: i32_at(o.sk_sndbuf, "sk_sndbuf")?,
    };
    Ok(Identity {
        socket: socket.unwrap_or(0),
        sock: sk,
        family: family_name(family),
        sock_type: sock_type_name(k, stype),
        state,
        local,
        remote,
        is_tcp,
        mini: false,
        kernel_view,
    })
}

/// Identity of a `TIME_WAIT` or `NEW_SYN_RECV` mini-socket: only `sock_common` exists; no queues.
pub fn mini_identity(k: &Kernel, sk: u64) -> Result<Identity> {
    let (family, st, local, remote) = common(k, sk)?;
    Ok(Identity {
        socket: 0,
        sock: sk,
        family: family_name(family),
        sock_type: "SOCK_STREAM".into(),
        state: tcp_state_name(k, st),
        local,
        remote,
        is_tcp: true,
        mini: true,
        kernel_view: KernelView::default(),
    })
}

fn unix_path(k: &Kernel, sk: u64) -> Result<Option<String>> {
    let o = k.off()?;
    let (Some(addr_off), Some(len_off), Some(name_off)) =
        (o.unix_addr, o.unix_address_len, o.unix_address_name)
    else {
        return Ok(None);
    };
    let addr = k.u64(sk + addr_off, "unix_sock.addr")?;
    if addr == 0 {
        return Ok(None);
    }
    let len = k.u32(addr + len_off, "unix_address.len")? as usize;
    if len <= 2 || len > 110 {
        return Ok(None);
    }
    let raw = k.bytes(addr + name_off + 2, len - 2, "sun_path")?;
    Ok(Some(if raw.first() == Some(&0) {
        format!(
            "@{}",
            String::from_utf8_lossy(&raw[1..]).trim_end_matches('\0')
        )
    } else {
        let end = raw.iter().position(|&c| c == 0).unwrap_or(raw.len());
        String::from_utf8_lossy(&raw[..end]).into_owned()
    }))
}

/// Walk every queue of a socket, in report order.
pub fn walk_queues(w: &mut Walker<'_>, id: &Identity) -> Vec<(QueueName, Vec<Skb>)> {
    let o = w.o;
    let sk = id.sock;
    let mut out = Vec::new();
    w.begin_socket();
    if sk == 0 || id.mini {
        return out;
    }
    let kv = &id.kernel_view;
    for (name, v) in [
        ("sk_rmem_alloc", kv.sk_rmem_alloc),
        ("sk_rcvbuf", kv.sk_rcvbuf),
        ("sk_wmem_queued", kv.sk_wmem_queued),
        ("sk_sndbuf", kv.sk_sndbuf),
    ] {
        if v < 0 {
            w.warnings.push(
                crate::warnings::WarningKind::Corrupt,
                Some(sk),
                format!("sock {sk:#x}: {name} is {v}, a value the kernel never holds"),
            );
        }
    }
    let mut q = Vec::new();
    w.walk_list(sk + o.sk_receive_queue, QueueName::Receive, &mut q);
    out.push((QueueName::Receive, q));
    if id.is_tcp {
        if let Some(ooo) = o.tcp_ooo_queue {
            let mut q = Vec::new();
            w.walk_rbtree(sk + ooo, QueueName::OutOfOrder, &mut q);
            out.push((QueueName::OutOfOrder, q));
        }
    }
    let mut q = Vec::new();
    w.walk_list(sk + o.sk_write_queue, QueueName::Write, &mut q);
    out.push((QueueName::Write, q));
    if id.is_tcp {
        if let Some(rtx) = o.tcp_rtx_queue {
            let mut q = Vec::new();
            w.walk_rbtree(sk + rtx, QueueName::Retransmit, &mut q);
            out.push((QueueName::Retransmit, q));
        }
    }
    let mut q = Vec::new();
    w.walk_list(sk + o.sk_error_queue, QueueName::Error, &mut q);
    out.push((QueueName::Error, q));
    out
}

//! Sockets: identity (family, type, state, addresses, the kernel's own accounting) and the queues.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::kind::{Family, SockType, SocketState, State, TcpState};
use crate::skb::{QueueName, Skb, Walker};
use crate::{Kernel, Result};

const AF_UNIX: u16 = 1;
const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;
const IPPROTO_TCP: u64 = 6;

/// Who a socket is.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    /// `struct sock`.
    pub sock: u64,
    /// `AF_INET`, …
    pub family: Family,
    /// `SOCK_STREAM`, …
    pub sock_type: SockType,
    /// TCP's state, or the `struct socket`'s.
    pub state: State,
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
#[non_exhaustive]
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
pub(crate) fn identity(k: &Kernel, socket: u64) -> Result<Identity> {
    let socket = k.ptr(socket, "struct socket")?;
    let sk = k.u64(socket + k.off()?.socket_sk, "socket.sk")?;
    if sk == 0 {
        let ss = k.u32(socket + k.off()?.socket_state, "socket.state")?;
        let stype = k.u16(socket + k.off()?.socket_type, "socket.type")?;
        return Ok(Identity {
            sock: 0,
            family: Family::Unspec,
            sock_type: SockType::from_abi(stype),
            state: State::Socket(SocketState::from_abi(ss)),
            local: None,
            remote: None,
            is_tcp: false,
            mini: false,
            kernel_view: KernelView::default(),
        });
    }
    sock_identity(k, sk, Some(socket))
}

/// Family, state and addresses from the `sock_common` every socket kind starts with.
fn common(k: &Kernel, sk: u64) -> Result<(u16, u8, Option<String>, Option<String>)> {
    let o = k.off()?;
    let sk = k.ptr(sk, "struct sock")?;
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
pub(crate) fn sock_identity(k: &Kernel, sk: u64, socket: Option<u64>) -> Result<Identity> {
    let o = k.off()?;
    let socket = socket.map(|s| k.ptr(s, "struct socket")).transpose()?;
    let (family, st, local, remote) = common(k, sk)?;
    let mut raw_type = [0u8; 8];
    k.read(sk + o.sk_type.byte, &mut raw_type, "sock.sk_type")?;
    let sk_type = crate::offsets::Bit {
        byte: 0,
        ..o.sk_type
    }
    .get(&raw_type) as u16;
    let stype = match socket {
        Some(s) => k.u16(s + o.socket_type, "socket.type")?,
        None => sk_type,
    };
    let mut raw_proto = [0u8; 8];
    k.read(sk + o.sk_protocol.byte, &mut raw_proto, "sock.sk_protocol")?;
    let protocol = crate::offsets::Bit {
        byte: 0,
        ..o.sk_protocol
    }
    .get(&raw_proto);
    let is_inet = family == AF_INET || family == AF_INET6;
    let is_tcp = is_inet && protocol == IPPROTO_TCP && stype == 1;
    let state = if is_tcp || socket.is_none() {
        State::Tcp(TcpState::from_abi(st))
    } else {
        let ss = k.u32(socket.unwrap_or_default() + o.socket_state, "socket.state")?;
        State::Socket(SocketState::from_abi(ss))
    };
    let i32_at = |off: u64, what: &str| k.u32(sk + off, what).map(|v| i64::from(v as i32));
    let kernel_view = KernelView {
        sk_rmem_alloc: i32_at(o.sk_rmem_alloc, "sk_rmem_alloc")?,
        sk_rcvbuf: i32_at(o.sk_rcvbuf, "sk_rcvbuf")?,
        sk_wmem_queued: i32_at(o.sk_wmem_queued, "sk_wmem_queued")?,
        sk_sndbuf: i32_at(o.sk_sndbuf, "sk_sndbuf")?,
    };
    Ok(Identity {
        sock: sk,
        family: Family::from_abi(family),
        sock_type: SockType::from_abi(stype),
        state,
        local,
        remote,
        is_tcp,
        mini: false,
        kernel_view,
    })
}

/// Identity of a `TIME_WAIT` or `NEW_SYN_RECV` mini-socket: only `sock_common` exists; no queues.
pub(crate) fn mini_identity(k: &Kernel, sk: u64) -> Result<Identity> {
    let (family, st, local, remote) = common(k, sk)?;
    Ok(Identity {
        sock: sk,
        family: Family::from_abi(family),
        sock_type: SockType::Stream,
        state: State::Tcp(TcpState::from_abi(st)),
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
pub(crate) fn walk_queues(w: &mut Walker<'_>, id: &Identity) -> Vec<(QueueName, Vec<Skb>)> {
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
    let mut q = w.queue_buffer();
    w.walk_list(sk + o.sk_receive_queue, QueueName::Receive, &mut q);
    out.push((QueueName::Receive, q));
    if id.is_tcp {
        if let Some(ooo) = o.tcp_ooo_queue {
            let mut q = w.queue_buffer();
            w.walk_rbtree(sk + ooo, QueueName::OutOfOrder, &mut q);
            out.push((QueueName::OutOfOrder, q));
        }
    }
    let mut q = w.queue_buffer();
    w.walk_list(sk + o.sk_write_queue, QueueName::Write, &mut q);
    out.push((QueueName::Write, q));
    if id.is_tcp {
        if let Some(rtx) = o.tcp_rtx_queue {
            let mut q = w.queue_buffer();
            w.walk_rbtree(sk + rtx, QueueName::Retransmit, &mut q);
            out.push((QueueName::Retransmit, q));
        }
    }
    let mut q = w.queue_buffer();
    w.walk_list(sk + o.sk_error_queue, QueueName::Error, &mut q);
    out.push((QueueName::Error, q));
    out
}

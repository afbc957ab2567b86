//! What a socket is, as types: address family, socket type, state. Each prints (and
//! serializes) as the contract's string (`AF_INET`, `SOCK_STREAM`, `ESTABLISHED`,
//! `SS_CONNECTED`), so the JSON is what scripts read; callers match on variants.
//!
//! ```
//! use skbwalk::kind::{Family, State, TcpState};
//! assert_eq!(Family::from_abi(10), Family::Inet6);
//! assert_eq!(Family::from_abi(10).to_string(), "AF_INET6");
//! assert_eq!(State::Tcp(TcpState::Established).to_string(), "ESTABLISHED");
//! assert_eq!(Family::from_abi(99).to_string(), "AF_99");
//! ```

use std::fmt;

macro_rules! named {
    ($(#[$m:meta])* $name:ident, $raw:ty, $prefix:literal, [$($(#[$vm:meta])* $v:ident = $n:literal => $s:literal),* $(,)?]) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vm])* $v,)*
            /// A value with no name here.
            Other($raw),
        }

        impl $name {
            /// From the kernel's number (the ABI value).
            pub fn from_abi(v: $raw) -> Self {
                match v {
                    $($n => $name::$v,)*
                    v => $name::Other(v),
                }
            }

            /// The kernel's number.
            pub fn abi(self) -> $raw {
                match self {
                    $($name::$v => $n,)*
                    $name::Other(v) => v,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // `pad`, so that widths and alignment (`{:<12}`) apply, as they do to a `str`.
                match self {
                    $($name::$v => f.pad($s),)*
                    $name::Other(v) => f.pad(&format!("{}{}", $prefix, v)),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        /// Compare with the contract's string (`"AF_INET"`, `"SOCK_STREAM"`, …).
        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                match self {
                    $($name::$v => *other == $s,)*
                    $name::Other(v) => other
                        .strip_prefix($prefix)
                        .and_then(|n| n.parse::<$raw>().ok())
                        == Some(*v),
                }
            }
        }
    };
}

named!(
    /// An address family (`sk_family`; numbers from `include/linux/socket.h`, which are macros
    /// and so in no debuginfo).
    Family, u16, "AF_", [
        /// `AF_UNSPEC` (also a `struct socket` with no `sock`).
        Unspec = 0 => "AF_UNSPEC",
        /// `AF_UNIX`.
        Unix = 1 => "AF_UNIX",
        /// `AF_INET`.
        Inet = 2 => "AF_INET",
        /// `AF_INET6`.
        Inet6 = 10 => "AF_INET6",
        /// `AF_NETLINK`.
        Netlink = 16 => "AF_NETLINK",
        /// `AF_PACKET`.
        Packet = 17 => "AF_PACKET",
        /// `AF_VSOCK`.
        Vsock = 40 => "AF_VSOCK",
        /// `AF_XDP`.
        Xdp = 44 => "AF_XDP",
    ]
);

named!(
    /// A socket type (`sk_type`, `enum sock_type`).
    SockType, u16, "SOCK_", [
        /// `SOCK_STREAM`.
        Stream = 1 => "SOCK_STREAM",
        /// `SOCK_DGRAM`.
        Dgram = 2 => "SOCK_DGRAM",
        /// `SOCK_RAW`.
        Raw = 3 => "SOCK_RAW",
        /// `SOCK_RDM`.
        Rdm = 4 => "SOCK_RDM",
        /// `SOCK_SEQPACKET`.
        Seqpacket = 5 => "SOCK_SEQPACKET",
        /// `SOCK_DCCP`.
        Dccp = 6 => "SOCK_DCCP",
        /// `SOCK_PACKET`.
        Packet = 10 => "SOCK_PACKET",
    ]
);

named!(
    /// A TCP state (`skc_state`), printed without its `TCP_` prefix.
    TcpState, u8, "TCP_", [
        /// `TCP_ESTABLISHED`.
        Established = 1 => "ESTABLISHED",
        /// `TCP_SYN_SENT`.
        SynSent = 2 => "SYN_SENT",
        /// `TCP_SYN_RECV`.
        SynRecv = 3 => "SYN_RECV",
        /// `TCP_FIN_WAIT1`.
        FinWait1 = 4 => "FIN_WAIT1",
        /// `TCP_FIN_WAIT2`.
        FinWait2 = 5 => "FIN_WAIT2",
        /// `TCP_TIME_WAIT`.
        TimeWait = 6 => "TIME_WAIT",
        /// `TCP_CLOSE`.
        Close = 7 => "CLOSE",
        /// `TCP_CLOSE_WAIT`.
        CloseWait = 8 => "CLOSE_WAIT",
        /// `TCP_LAST_ACK`.
        LastAck = 9 => "LAST_ACK",
        /// `TCP_LISTEN`.
        Listen = 10 => "LISTEN",
        /// `TCP_CLOSING`.
        Closing = 11 => "CLOSING",
        /// `TCP_NEW_SYN_RECV`.
        NewSynRecv = 12 => "NEW_SYN_RECV",
    ]
);

named!(
    /// The state of a `struct socket` (`socket_state`), for sockets that are not TCP.
    SocketState, u32, "SS_", [
        /// `SS_FREE`.
        Free = 0 => "SS_FREE",
        /// `SS_UNCONNECTED`.
        Unconnected = 1 => "SS_UNCONNECTED",
        /// `SS_CONNECTING`.
        Connecting = 2 => "SS_CONNECTING",
        /// `SS_CONNECTED`.
        Connected = 3 => "SS_CONNECTED",
        /// `SS_DISCONNECTING`.
        Disconnecting = 4 => "SS_DISCONNECTING",
    ]
);

/// A socket's state: TCP's own for TCP (and for sockets with no `struct socket`), the
/// `struct socket`'s for the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum State {
    /// `skc_state` of a TCP socket.
    Tcp(TcpState),
    /// `socket.state`.
    Socket(SocketState),
}

impl State {
    /// Whether the kernel keeps a socket in this state as a mini-socket: `TIME_WAIT`'s
    /// `inet_timewait_sock`, `NEW_SYN_RECV`'s `request_sock` — only `sock_common`, none of
    /// `struct sock`'s later members (queues, buffers, `sk_memcg`).
    pub fn is_mini(self) -> bool {
        matches!(
            self,
            State::Tcp(TcpState::TimeWait) | State::Tcp(TcpState::NewSynRecv)
        )
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            State::Tcp(s) => s.fmt(f),
            State::Socket(s) => s.fmt(f),
        }
    }
}

impl serde::Serialize for State {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Compare with the contract's string (`"ESTABLISHED"`, `"SS_CONNECTED"`).
impl PartialEq<&str> for State {
    fn eq(&self, other: &&str) -> bool {
        match self {
            State::Tcp(s) => s == other,
            State::Socket(s) => s == other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Report columns (`{:<12}`) line up: kinds pad as a `str` does.
    #[test]
    fn kinds_pad_like_strings() {
        assert_eq!(
            format!("[{:<12}]", State::Tcp(TcpState::Listen)),
            "[LISTEN      ]"
        );
        assert_eq!(format!("[{:>9}]", Family::Inet), "[  AF_INET]");
        assert_eq!(format!("[{:<8}]", TcpState::Other(99)), "[TCP_99  ]");
        assert_eq!(format!("[{:<8}]", SockType::Stream), "[SOCK_STREAM]");
    }
}

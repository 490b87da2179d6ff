//! Socket options, through socket2: the listening socket (address reuse, backlog), TCP_NODELAY
//! and TCP keepalive on the connections the server accepts and the client dials.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::AsFd;
use std::time::Duration;

use socket2::{Domain, Protocol, SockRef, Socket, TcpKeepalive, Type};

/// TCP keepalive probes, once they start, go this often...
pub(crate) const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
/// ...and this many unanswered ones end the connection.
pub(crate) const KEEPALIVE_RETRIES: u32 = 3;
/// The keepalive idle time on the client's dialed sockets.
pub(crate) const CLIENT_KEEPALIVE: Duration = Duration::from_secs(30);

/// The listen backlog: tokio's (mio's) own, above std's 128, so that a burst of clients
/// connecting at once is not turned away by the kernel before we accept them.
const BACKLOG: i32 = 1024;

/// A non-blocking listening socket on the first of `addr`'s addresses that can be bound, with
/// `SO_REUSEADDR` (a restarted server binds while old connections sit in TIME_WAIT), and with
/// `SO_REUSEPORT` if `reuse_port` (several processes listen on one address, the kernel
/// spreading new connections among them). `[::]` listens for IPv4 clients as well.
pub(crate) fn listen(
    addr: impl ToSocketAddrs,
    reuse_port: bool,
) -> io::Result<std::net::TcpListener> {
    let mut last = None;
    for addr in addr.to_socket_addrs()? {
        match listen_on(addr, reuse_port) {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some(e),
        }
    }
    Err(last
        .unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to listen on")))
}

fn listen_on(addr: SocketAddr, reuse_port: bool) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if addr.ip() == std::net::Ipv6Addr::UNSPECIFIED {
        // `[::]` takes IPv4 clients too (as mapped addresses), whatever the system's default
        // (net.ipv6.bindv6only), as Go's and most servers' wildcard listeners do.
        socket.set_only_v6(false)?;
    }
    if reuse_port {
        set_reuse_port(&socket)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

#[cfg(all(unix, not(any(target_os = "solaris", target_os = "illumos"))))]
fn set_reuse_port(socket: &Socket) -> io::Result<()> {
    socket.set_reuse_port(true)
}

#[cfg(not(all(unix, not(any(target_os = "solaris", target_os = "illumos")))))]
fn set_reuse_port(_: &Socket) -> io::Result<()> {
    let unsupported = "SO_REUSEPORT is not available on this system";
    Err(io::Error::new(io::ErrorKind::Unsupported, unsupported))
}

/// TCP_NODELAY on (echoes are small and latency matters), and keepalive probes after `idle`.
pub(crate) fn tune(socket: &impl AsFd, keepalive: Option<Duration>) -> io::Result<()> {
    let socket = SockRef::from(socket);
    socket.set_tcp_nodelay(true)?;
    if let Some(idle) = keepalive {
        let keepalive = TcpKeepalive::new()
            .with_time(idle)
            .with_interval(KEEPALIVE_INTERVAL)
            .with_retries(KEEPALIVE_RETRIES);
        socket.set_tcp_keepalive(&keepalive)?;
    }
    Ok(())
}

/// Whether accepted sockets inherit the listener's TCP_NODELAY and keepalive settings, so that
/// tuning the listener saves five system calls per connection (Linux copies them; the test
/// below checks it). Elsewhere each accepted socket is tuned.
pub(crate) const INHERITED: bool = cfg!(target_os = "linux");

#[cfg(test)]
mod tests {
    use super::*;

    /// What [`INHERITED`] relies on: a socket accepted from a tuned listener comes out tuned.
    #[test]
    #[cfg(target_os = "linux")]
    fn accepted_sockets_inherit_the_listeners_tuning() -> io::Result<()> {
        let listener = listen("127.0.0.1:0", false)?;
        tune(&listener, Some(Duration::from_secs(30)))?;
        let _client = std::net::TcpStream::connect(listener.local_addr()?)?;
        listener.set_nonblocking(false)?;
        let (accepted, _) = listener.accept()?;
        let socket = SockRef::from(&accepted);
        assert!(socket.tcp_nodelay()?);
        assert!(socket.keepalive()?);
        assert_eq!(socket.tcp_keepalive_time()?, Duration::from_secs(30));
        assert_eq!(socket.tcp_keepalive_interval()?, KEEPALIVE_INTERVAL);
        assert_eq!(socket.tcp_keepalive_retries()?, KEEPALIVE_RETRIES);
        Ok(())
    }

    #[test]
    fn a_listener_takes_the_first_address_it_can_bind() -> io::Result<()> {
        let taken = listen("127.0.0.1:0", false)?;
        let addrs = [
            taken.local_addr()?,
            "127.0.0.1:0".parse().map_err(io::Error::other)?,
        ];
        let listener = listen(&addrs[..], false)?;
        assert_ne!(listener.local_addr()?, taken.local_addr()?);
        assert!(listen(taken.local_addr()?, false).is_err());
        Ok(())
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn with_reuse_port_a_second_listener_shares_the_address() -> io::Result<()> {
        let first = listen("127.0.0.1:0", true)?;
        let second = listen(first.local_addr()?, true)?;
        assert_eq!(second.local_addr()?, first.local_addr()?);
        // A listener without it is still refused.
        assert!(listen(first.local_addr()?, false).is_err());
        Ok(())
    }
}

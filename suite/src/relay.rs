//! A pulled cable in a test harness: a TCP relay between a client and a server that can be
//! switched to hold everything in both directions, silently, without closing either side,
//! as a dead link does (TCP would retransmit what it holds once the link is back).

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};

#[derive(Clone)]
pub struct Relay {
    pub addr: SocketAddr,
    cut: Arc<(Mutex<bool>, Condvar)>,
}

impl Relay {
    /// Listens on 127.0.0.1:0 and relays every connection to `upstream`.
    pub fn start(upstream: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let relay = Relay {
            addr: listener.local_addr().unwrap(),
            cut: Arc::new((Mutex::new(false), Condvar::new())),
        };
        let cut = Arc::clone(&relay.cut);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                for (from, to) in [(&client, &server), (&server, &client)] {
                    let (from, to) = (from.try_clone().unwrap(), to.try_clone().unwrap());
                    let cut = Arc::clone(&cut);
                    std::thread::spawn(move || pump(from, to, &cut));
                }
            }
        });
        relay
    }

    /// Pulls the cable: from now on nothing gets through, either way.
    pub fn cut(&self) {
        *self.cut.0.lock().unwrap() = true;
    }

    /// Plugs it back: what was held goes through, and traffic flows again.
    pub fn restore(&self) {
        *self.cut.0.lock().unwrap() = false;
        self.cut.1.notify_all();
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, cut: &(Mutex<bool>, Condvar)) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        // Hold the bytes while the cable is out.
        let mut held = cut.0.lock().unwrap();
        while *held {
            held = cut.1.wait(held).unwrap();
        }
        drop(held);
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

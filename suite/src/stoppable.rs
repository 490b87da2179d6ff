//! A server on the core alone (async-io sockets, one thread per connection) that a test can
//! stop, as a crashed or restarted server stops, and that hands back each connection's Summary.

use std::collections::HashMap;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use ws_echo::{Config, Handler, Summary};

/// Duplicates of the open connections' sockets, to shut them down on stop.
type Open = Arc<Mutex<HashMap<u64, TcpStream>>>;

pub struct Stoppable {
    pub addr: SocketAddr,
    stopping: Arc<AtomicBool>,
    open: Open,
    accepter: Option<std::thread::JoinHandle<()>>,
}

impl Stoppable {
    /// Serves `handler` on `addr` (port 0 for a free one); returns the server and a channel of
    /// connection summaries.
    pub fn start<H>(addr: &str, config: Config, handler: H) -> (Stoppable, mpsc::Receiver<Summary>)
    where
        H: Handler + Clone + Send + 'static,
    {
        let listener = TcpListener::bind(addr).unwrap();
        let addr = listener.local_addr().unwrap();
        let stopping = Arc::new(AtomicBool::new(false));
        let open: Open = Arc::default();
        let (tx, rx) = mpsc::channel();
        let accepter = {
            let (stopping, open) = (Arc::clone(&stopping), Arc::clone(&open));
            std::thread::spawn(move || {
                for (id, stream) in (0u64..).zip(listener.incoming()) {
                    if stopping.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(stream) = stream else { continue };
                    open.lock().unwrap().insert(id, stream.try_clone().unwrap());
                    let (config, handler, tx) = (config.clone(), handler.clone(), tx.clone());
                    let open = Arc::clone(&open);
                    std::thread::spawn(move || {
                        let stream = async_io::Async::new(stream).unwrap();
                        let serving = ws_echo::serve(stream, &config, handler);
                        let served = futures_lite::future::block_on(serving);
                        // Our duplicate must not keep the socket open once the server let go.
                        open.lock().unwrap().remove(&id);
                        if let Ok(ws_echo::Served::WebSocket(summary)) = served {
                            let _ = tx.send(summary);
                        }
                    });
                }
            })
        };
        let server = Stoppable {
            addr,
            stopping,
            open,
            accepter: Some(accepter),
        };
        (server, rx)
    }

    /// Stops listening and shuts every connection down, as a crashed server would.
    pub fn stop(mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr); // wakes the accept loop, which then returns
        if let Some(accepter) = self.accepter.take() {
            accepter.join().unwrap();
        }
        for (_, stream) in self.open.lock().unwrap().drain() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

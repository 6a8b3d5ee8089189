//! The front's threads: the accept loop's own and [`FrontLimits::threads`](super::FrontLimits)
//! `- 1` more, each a current-thread runtime. Accepted connections are handed out in turn, and
//! each is served on its thread from start to end, so answering a request never wakes another
//! thread. (A multi-threaded runtime did, several times per request even with one client:
//! futex calls and task switches took about a fifth of the server's CPU per upload.)

use std::future::Future;
use std::io;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::runtime::Handle;
use tokio::sync::watch;

/// One more thread that serves connections.
pub(super) struct Shard {
    handle: Handle,
}

impl Shard {
    /// Starts a thread named `name` that serves what it is handed until `stop`'s sender drops.
    pub(super) fn spawn(name: String, mut stop: watch::Receiver<()>) -> io::Result<Shard> {
        let runtime = super::current_thread()?;
        let handle = runtime.handle().clone();
        std::thread::Builder::new().name(name).spawn(move || {
            runtime.block_on(async move { while stop.changed().await.is_ok() {} });
            runtime.shutdown_timeout(Duration::from_secs(1));
        })?;
        Ok(Shard { handle })
    }
}

/// The threads connections are handed to in turn (the accept loop's own thread included).
pub(super) struct Shards {
    others: Vec<Shard>,
    next: usize,
}

impl Shards {
    pub(super) fn new(others: Vec<Shard>) -> Shards {
        Shards { others, next: 0 }
    }

    /// Serves `stream` with `serve` on the next thread in turn.
    pub(super) fn serve<F, Fut>(&mut self, stream: TcpStream, serve: F)
    where
        F: FnOnce(TcpStream) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let turn = self.next;
        self.next = (self.next + 1) % (self.others.len() + 1);
        let Some(shard) = turn.checked_sub(1).and_then(|i| self.others.get(i)) else {
            tokio::spawn(serve(stream));
            return;
        };
        // The socket moves to the other thread's reactor.
        let stream = match stream.into_std() {
            Ok(stream) => stream,
            Err(e) => return tracing::debug!("fake CleverTap: cannot hand a connection over: {e}"),
        };
        shard.handle.spawn(async move {
            match TcpStream::from_std(stream) {
                Ok(stream) => serve(stream).await,
                Err(e) => tracing::debug!("fake CleverTap: cannot take a connection over: {e}"),
            }
        });
    }
}

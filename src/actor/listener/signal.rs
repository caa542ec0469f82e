//! Serving until SIGINT or SIGTERM, then draining: the loop every server
//! binary needs, once ([`Listener::run_until_signal`]; `h2actor::serve` and
//! the example server use it).

use std::future::Future;
use std::time::Duration;

use super::{Listener, ShutdownReport};

impl Listener {
    /// Serves until SIGINT or SIGTERM, then shuts down gracefully
    /// ([`shutdown`](Self::shutdown)`(grace)`: the listening socket closes,
    /// every connection gets GOAWAY, requests in flight have `grace` to
    /// finish, the rest are reset) and resolves with the report once every
    /// connection is gone. A second SIGINT or SIGTERM during the drain
    /// forces the shutdown at once (ctrl-c twice). On other platforms than
    /// unix, ctrl-c is the signal.
    ///
    /// Each step is logged at `info` (the signal, the drain, the report).
    /// If the signals cannot be watched (no signal driver in the runtime),
    /// a warning says so and only the process's end stops the server.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use actix::prelude::*;
    /// use h2actor::prelude::*;
    ///
    /// struct Hello;
    /// impl Actor for Hello {
    ///     type Context = Context<Self>;
    /// }
    /// impl Handler<RecvHeaders> for Hello {
    ///     type Result = ();
    ///     fn handle(&mut self, req: RecvHeaders, _: &mut Context<Self>) {
    ///         req.stream.do_send(SendMessage::new(http::Response::new(())).body("hello\n"));
    ///     }
    /// }
    ///
    /// #[actix_rt::main]
    /// async fn main() -> std::io::Result<()> {
    ///     let listener = Listener::builder("127.0.0.1:8080".parse().unwrap())
    ///         .start(|_peer| Subscriber::new(&Hello.start()))?;
    ///     println!("listening on {}", listener.local_addr());
    ///     // ctrl-c or `kill -TERM`: GOAWAY, 10 s for the requests in flight.
    ///     let report = listener.run_until_signal(Duration::from_secs(10)).await;
    ///     println!("stopped: {report:?}");
    ///     Ok(())
    /// }
    /// ```
    pub async fn run_until_signal(&self, grace: Duration) -> ShutdownReport {
        self.run_until_signal_or(grace, std::future::pending())
            .await
    }

    /// As [`run_until_signal`](Self::run_until_signal), and the graceful
    /// shutdown also begins when `stop` resolves: a message from elsewhere
    /// in the program, an admin request, a test's trigger. Signals still
    /// work, before and during the drain.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # use h2actor::prelude::*;
    /// # async fn f(listener: Listener) {
    /// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    /// // ... hand `stop` to whoever may end the server: `stop.send(())`.
    /// # drop(stop);
    /// let report = listener
    ///     .run_until_signal_or(Duration::from_secs(10), async { let _ = stopped.await; })
    ///     .await;
    /// # let _ = report; }
    /// ```
    pub async fn run_until_signal_or(
        &self,
        grace: Duration,
        stop: impl Future<Output = ()>,
    ) -> ShutdownReport {
        let mut signals = Signals::watch();
        let cause = tokio::select! {
            name = signals.next() => name,
            () = stop => "stop requested",
        };
        tracing::info!(
            cause,
            ?grace,
            "shutting down gracefully (a second signal forces)"
        );
        let report = tokio::select! {
            report = self.shutdown(grace) => report,
            name = signals.next() => {
                tracing::warn!(signal = name, "second signal: forcing the shutdown");
                self.shutdown(Duration::ZERO).await
            }
        };
        tracing::info!(?report, stats = %self.stats(), "stopped");
        report
    }
}

/// SIGINT and SIGTERM (ctrl-c elsewhere), or nothing if they cannot be
/// watched.
struct Signals {
    #[cfg(unix)]
    watched: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    fn watch() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let watched = match (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) {
                (Ok(term), Ok(int)) => Some((term, int)),
                (Err(e), _) | (_, Err(e)) => {
                    tracing::warn!(
                        "cannot watch SIGTERM and SIGINT ({e}): the server stops only when the process ends"
                    );
                    None
                }
            };
            Signals { watched }
        }
        #[cfg(not(unix))]
        {
            Signals {}
        }
    }

    /// The next signal's name; never resolves if none can come.
    async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            let Some((term, int)) = &mut self.watched else {
                return std::future::pending().await;
            };
            tokio::select! {
                Some(()) = term.recv() => "SIGTERM",
                Some(()) = int.recv() => "SIGINT",
                else => std::future::pending().await,
            }
        }
        #[cfg(not(unix))]
        {
            match tokio::signal::ctrl_c().await {
                Ok(()) => "ctrl-c",
                Err(_) => std::future::pending().await,
            }
        }
    }
}

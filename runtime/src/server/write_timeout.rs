//! Disconnecting clients that stop reading.
//!
//! A client that stops reading (a frozen tab, a stopped process) leaves its responses
//! in the socket's buffers until they are full, and then every write to it waits, which
//! pins a connection. hyper has no write timeout, so the connection's stream gets one: a
//! write that can make no progress for the whole timeout fails, and hyper closes the
//! connection. (Dashboard streams do not wait for their buffers to fill: their pages
//! acknowledge what they receive, see `streams`.)

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// A stream whose writes fail once they have waited for `timeout` without progress.
pub(crate) struct WriteTimeout<S> {
    inner: S,
    timeout: Duration,
    /// Armed when a write first has to wait; disarmed by any progress.
    deadline: Option<Pin<Box<Sleep>>>,
    armed: bool,
}

impl<S> WriteTimeout<S> {
    pub(crate) fn new(inner: S, timeout: Duration) -> Self {
        WriteTimeout {
            inner,
            timeout,
            deadline: None,
            armed: false,
        }
    }

    /// Passes on a finished write and disarms the deadline; a pending one arms it and
    /// turns into an error when it expires.
    fn guard<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if poll.is_ready() {
            self.armed = false;
            return poll;
        }
        let timeout = self.timeout;
        let deadline = match &mut self.deadline {
            // Reset in place: a connection that often waits (a dashboard read a little
            // late every tick) allocates its timer once, not once per wait.
            Some(deadline) if !self.armed => {
                deadline.as_mut().reset(Instant::now() + timeout);
                deadline
            }
            Some(deadline) => deadline,
            None => self.deadline.insert(Box::pin(tokio::time::sleep(timeout))),
        };
        self.armed = true;
        match deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client stopped reading",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteTimeout<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteTimeout<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.guard(cx, poll)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.guard(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_flush(cx);
        this.guard(cx, poll)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.guard(cx, poll)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn a_write_nobody_reads_fails_after_the_timeout() {
        let (ours, mut theirs) = tokio::io::duplex(64);
        let mut stream = WriteTimeout::new(ours, Duration::from_millis(100));
        // The peer reads: writes go through however long it takes in all.
        let reader = tokio::spawn(async move {
            let mut received = vec![0; 256];
            theirs.read_exact(&mut received).await.unwrap();
            theirs
        });
        stream.write_all(&[1; 256]).await.unwrap();
        let _theirs = reader.await.unwrap();
        // Now nobody reads: the 64-byte buffer fills, and the write gives up.
        let error = stream.write_all(&[2; 256]).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn each_wait_gets_the_whole_timeout() {
        let (ours, mut theirs) = tokio::io::duplex(64);
        let mut stream = WriteTimeout::new(ours, Duration::from_millis(300));
        // Waits that each end well within the timeout, but together exceed it: the
        // reused timer starts afresh at each one.
        for _ in 0..4 {
            let reader = tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(150)).await;
                let mut received = vec![0; 128];
                theirs.read_exact(&mut received).await.unwrap();
                theirs
            });
            stream.write_all(&[3; 128]).await.unwrap();
            theirs = reader.await.unwrap();
        }
    }
}

//! A scripted target on loopback: an HTTP/1.1 server whose every answer a test decides
//! (a body with or without `Content-Length`, slowly or never), counting the requests.
//! For what the examples cannot be made to do: huge, hostile or hung documents.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

/// What the target answers to one request.
pub enum Answer {
    /// `200` with this body and its `Content-Length`.
    Body(Arc<Vec<u8>>),
    /// `200` with this body, chunked (no length announced), in 64 KiB chunks.
    Chunked(Arc<Vec<u8>>),
    /// `404`.
    NotFound,
    /// Nothing, ever: the connection is held open until the client leaves.
    Hang,
}

/// A running scripted target; it serves until the test process ends.
pub struct Scripted {
    pub addr: SocketAddr,
    requests: Arc<AtomicUsize>,
}

impl Scripted {
    /// Serves `answer(path)` to every request, each connection on its own thread, after
    /// `delay`.
    pub fn start(
        delay: Duration,
        answer: impl Fn(&str) -> Answer + Send + Sync + 'static,
    ) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&requests);
        let answer = Arc::new(answer);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (counted, answer) = (Arc::clone(&counted), Arc::clone(&answer));
                std::thread::spawn(move || {
                    let Some(path) = read_request(&stream) else {
                        return;
                    };
                    counted.fetch_add(1, SeqCst);
                    std::thread::sleep(delay);
                    let _ = respond(stream, answer(&path));
                });
            }
        });
        Scripted { addr, requests }
    }

    /// The requests answered (or being answered) so far.
    pub fn requests(&self) -> usize {
        self.requests.load(SeqCst)
    }
}

/// The path of the request on `stream`, once its headers are in.
fn read_request(stream: &TcpStream) -> Option<String> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let path = line.split_whitespace().nth(1)?.to_owned();
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 || line == "\r\n" {
            return Some(path);
        }
    }
}

fn respond(mut stream: TcpStream, answer: Answer) -> std::io::Result<()> {
    const HEAD: &str = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n";
    match answer {
        Answer::Body(body) => {
            write!(stream, "{HEAD}Content-Length: {}\r\n\r\n", body.len())?;
            stream.write_all(&body)
        }
        Answer::Chunked(body) => {
            write!(stream, "{HEAD}Transfer-Encoding: chunked\r\n\r\n")?;
            for chunk in body.chunks(64 << 10) {
                write!(stream, "{:x}\r\n", chunk.len())?;
                stream.write_all(chunk)?;
                stream.write_all(b"\r\n")?;
            }
            stream.write_all(b"0\r\n\r\n")
        }
        Answer::NotFound => stream
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
        Answer::Hang => {
            // Until the client closes: a read returns 0 or fails.
            let _ = std::io::Read::read(&mut stream, &mut [0u8; 1]);
            Ok(())
        }
    }
}

/// A JSON object of `keys` numeric keys (`{"k0000000": 0, ...}`), about 15 bytes a key.
pub fn many_keys(keys: usize) -> Vec<u8> {
    let mut body = Vec::with_capacity(keys * 16 + 2);
    body.push(b'{');
    for index in 0..keys {
        if index > 0 {
            body.push(b',');
        }
        write!(body, "\"k{index:07}\":{}", index % 1000).unwrap();
    }
    body.push(b'}');
    body
}

/// A JSON document of about `bytes` bytes: one long string value (a single value, so
/// only a byte limit refuses it).
pub fn long_document(bytes: usize) -> Vec<u8> {
    let mut body = Vec::with_capacity(bytes + 16);
    body.extend_from_slice(b"{\"blob\": \"");
    body.resize(bytes.saturating_sub(2).max(body.len()), b'x');
    body.extend_from_slice(b"\"}");
    body
}

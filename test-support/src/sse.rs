//! A dashboard event stream (Server-Sent Events) read from a raw connection.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// One dashboard event stream read from a raw connection.
pub struct Events {
    pub reader: BufReader<TcpStream>,
    decoded: String,
    /// The `id:` of the last event that had one (SSE's "last event ID").
    pub last_id: Option<String>,
}

/// The status line's code and the headers of a response whose body is left unread.
pub struct Head {
    pub status: u16,
    pub headers: Vec<(String, String)>,
}

impl Head {
    pub fn header(&self, name: &str) -> Option<&str> {
        crate::http::find_header(&self.headers, name)
    }
}

/// Sends `GET path` on a kept-open connection and reads only the response head.
pub fn open(addr: SocketAddr, path: &str, headers: &[&str]) -> (Head, Events) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut raw = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n");
    for header in headers {
        raw.push_str(header);
        raw.push_str("\r\n");
    }
    raw.push_str("\r\n");
    stream.write_all(raw.as_bytes()).unwrap();
    read_head(stream)
}

/// Reads the response head from `stream`, leaving the body to the returned events.
fn read_head(stream: TcpStream) -> (Head, Events) {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let status = line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (key, value) = line.split_once(':').unwrap();
        headers.push((key.trim().to_owned(), value.trim().to_owned()));
    }
    let events = Events {
        reader,
        decoded: String::new(),
        last_id: None,
    };
    (Head { status, headers }, events)
}

impl Events {
    /// The events of a stream whose request was sent and whose response head is unread.
    pub fn after_head(stream: TcpStream) -> Self {
        let (head, events) = read_head(stream);
        assert_eq!(head.status, 200);
        events
    }

    /// The next event as (name, data), decoding the chunked body as it comes.
    // Not `Iterator::next`: a test wants the event, and a stream that ended fails it.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> (String, String) {
        self.try_next().expect("the event stream ended")
    }

    /// The next event as (name, data), or `None` once the stream has ended.
    pub fn try_next(&mut self) -> Option<(String, String)> {
        loop {
            if let Some(end) = self.decoded.find("\n\n") {
                let event: String = self.decoded.drain(..end + 2).collect();
                let mut name = String::from("message");
                let mut data = String::new();
                for line in event.lines() {
                    if let Some(value) = line.strip_prefix("event: ") {
                        name = value.to_owned();
                    } else if let Some(value) = line.strip_prefix("data: ") {
                        data.push_str(value);
                    } else if let Some(value) = line.strip_prefix("id: ") {
                        self.last_id = Some(value.to_owned());
                    }
                }
                return Some((name, data));
            }
            let mut size = String::new();
            self.reader.read_line(&mut size).expect("chunk size");
            let size = usize::from_str_radix(size.trim(), 16).expect("hex chunk size");
            if size == 0 {
                return None;
            }
            let mut chunk = vec![0; size + 2];
            self.reader.read_exact(&mut chunk).expect("chunk");
            self.decoded
                .push_str(std::str::from_utf8(&chunk[..size]).expect("UTF-8 events"));
        }
    }

    /// The next `sample` event, with the latest schema seen before it.
    pub fn next_sample(&mut self, schema: &mut Option<serde_json::Value>) -> serde_json::Value {
        loop {
            let (name, data) = self.next();
            let value: serde_json::Value = match name.as_str() {
                "schema" | "sample" => serde_json::from_str(&data).expect("event JSON"),
                _ => continue,
            };
            if name == "schema" {
                *schema = Some(value);
            } else {
                return value;
            }
        }
    }
}

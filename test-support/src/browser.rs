//! Headless Chromium driven over the Chrome DevTools Protocol, for the dashboard's
//! browser test (included by `tests/test_dashboard_browser.rs` alone).

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};
use tungstenite::{Message, WebSocket};

use crate::{ChildGuard, TempDir};

/// Every wait in the browser test ends by then.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// `chromium` (Debian), or another Chromium-based browser on `PATH`.
pub fn find_chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// Headless Chromium with a fresh profile, killed and cleaned up when dropped.
pub struct Browser {
    _process: ChildGuard,
    websocket_url: String,
    /// Declared last: removed after the browser is gone.
    _profile: TempDir,
}

impl Browser {
    pub fn launch(chromium: &Path) -> Self {
        let profile = TempDir::new("expvar-chromium");
        let mut child = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-quic",
                "--remote-debugging-port=0",
                "--remote-allow-origins=*",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chromium");
        let stderr = child.stderr.take().unwrap();
        let process = ChildGuard(child);
        // Read stderr on a thread (it must be drained for the whole run), handing over
        // the DevTools address when it appears.
        let (found, address) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    let _ = found.send(url.trim().to_owned());
                }
            }
        });
        let websocket_url = address
            .recv_timeout(STEP_TIMEOUT)
            .expect("chromium printed no DevTools address");
        Browser {
            _process: process,
            websocket_url,
            _profile: profile,
        }
    }

    /// A new tab of the right size, attached for commands.
    pub fn open_page(&self) -> Page {
        let mut cdp = Cdp::connect(&self.websocket_url);
        let target = cdp.call(None, "Target.createTarget", json!({ "url": "about:blank" }));
        let target_id = target["targetId"].as_str().unwrap().to_owned();
        let attached = cdp.call(
            None,
            "Target.attachToTarget",
            json!({ "targetId": target_id, "flatten": true }),
        );
        let session = attached["sessionId"].as_str().unwrap().to_owned();
        let mut page = Page { cdp, session };
        page.call("Runtime.enable", json!({}));
        page.call("Log.enable", json!({}));
        page.call("Page.enable", json!({}));
        page.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": 1280, "height": 1400, "deviceScaleFactor": 1, "mobile": false }),
        );
        page
    }
}

/// One tab, through its DevTools session.
pub struct Page {
    cdp: Cdp,
    session: String,
}

impl Page {
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        self.cdp.call(Some(&self.session), method, params)
    }

    /// The value of the last statement of `script`, run in the page in a block of its
    /// own (so its `const`s do not clash with the next script's); fails on an exception.
    pub fn evaluate(&mut self, script: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({ "expression": format!("{{ {script} }}"), "returnByValue": true }),
        );
        assert!(
            result.get("exceptionDetails").is_none(),
            "{script}: {result}"
        );
        result["result"]["value"].clone()
    }

    /// `window.__expvarDashboard` (null before the page has loaded).
    pub fn state(&mut self) -> Value {
        let text = self.evaluate("JSON.stringify(window.__expvarDashboard || null)");
        serde_json::from_str(text.as_str().unwrap_or("null")).unwrap()
    }

    /// Polls the page's state until it has received `samples` samples; fails after
    /// `timeout`.
    pub fn wait_for_samples(&mut self, samples: u64, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let state = self.state();
            if state["samples"]
                .as_u64()
                .is_some_and(|seen| seen >= samples)
            {
                return state;
            }
            assert!(
                Instant::now() < deadline,
                "waited for {samples} samples: {state:#}"
            );
            thread::sleep(Duration::from_millis(250));
        }
    }

    /// Polls the page's state until `done` holds; fails after [`STEP_TIMEOUT`].
    pub fn wait_for_state(&mut self, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            let state = self.state();
            if done(&state) {
                return state;
            }
            assert!(Instant::now() < deadline, "waited for {what}: {state:#}");
            thread::sleep(Duration::from_millis(250));
        }
    }

    pub fn screenshot(&mut self) -> Vec<u8> {
        let shot = self.call("Page.captureScreenshot", json!({ "format": "png" }));
        base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap()
    }

    /// Exceptions, console errors and error log entries the browser reported.
    pub fn errors(&mut self) -> Vec<Value> {
        // A round trip collects the events sent before it.
        self.call("Runtime.evaluate", json!({ "expression": "0" }));
        self.cdp
            .events
            .iter()
            .filter(|event| match event["method"].as_str() {
                Some("Runtime.exceptionThrown") => true,
                Some("Runtime.consoleAPICalled") => event["params"]["type"] == "error",
                Some("Log.entryAdded") => event["params"]["entry"]["level"] == "error",
                _ => false,
            })
            .cloned()
            .collect()
    }
}

/// A minimal Chrome DevTools Protocol client: numbered commands, events kept.
struct Cdp {
    socket: WebSocket<TcpStream>,
    next_id: u64,
    events: Vec<Value>,
}

impl Cdp {
    fn connect(url: &str) -> Self {
        let host = url
            .strip_prefix("ws://")
            .and_then(|rest| rest.split('/').next())
            .expect("ws:// address");
        let stream = TcpStream::connect(host).expect("connect to DevTools");
        stream.set_read_timeout(Some(STEP_TIMEOUT)).unwrap();
        let (socket, _) = tungstenite::client(url, stream).expect("DevTools handshake");
        Cdp {
            socket,
            next_id: 1,
            events: Vec::new(),
        }
    }

    fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let mut command = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            command["sessionId"] = json!(session);
        }
        self.socket
            .send(Message::text(command.to_string()))
            .expect("send to DevTools");
        loop {
            let message = self.socket.read().expect("read from DevTools");
            let Message::Text(text) = message else {
                continue;
            };
            let value: Value = serde_json::from_str(text.as_str()).unwrap();
            if value["id"] == id {
                assert!(value.get("error").is_none(), "{method} failed: {value}");
                return value["result"].clone();
            }
            if value.get("method").is_some() {
                self.events.push(value);
            }
        }
    }
}

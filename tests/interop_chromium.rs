//! Headless Chromium against `examples/websocket.rs` (RFC 8441): the
//! browser loads the page over TLS + HTTP/2, its JavaScript opens
//! `wss://<same origin>/ws`, sends 1,000 messages of 1 B to 64 KiB and
//! checks every echo. The test drives Chromium over the DevTools protocol
//! on a pipe (`--remote-debugging-pipe`: fd 3 in, fd 4 out, JSON messages
//! ended by NUL), reads the page's verdict from the DOM, closes the browser
//! and reads its net log: the WebSocket must be an extended CONNECT
//! (`:protocol: websocket`) on the very HTTP/2 session that loaded the page,
//! after our SETTINGS_ENABLE_CONNECT_PROTOCOL = 1.
//!
//! Needs Debian `chromium` (`.ci/run` installs it) and the example binary
//! (built by the README's test command). Bounded: 60 s for the whole test,
//! one retry if the browser gives no verdict.

#[path = "support/harness.rs"]
mod harness;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use harness::Need::{Check, Program};
use serde_json::{json, Value};

/// The whole test, both attempts included.
const LIMIT: Duration = Duration::from_secs(60);

/// A child process killed when dropped.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A fresh directory, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let p = std::env::temp_dir().join(format!("h2actor-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("a temp dir");
        Dir(p)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `target/<profile>/examples/<name>` (built by the README's command).
fn example_path(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable");
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    profile.join("examples").join(name)
}

fn example_built() -> Result<(), String> {
    let p = example_path("websocket");
    if p.is_file() {
        Ok(())
    } else {
        Err(format!(
            "{} not built (run `cargo build --release --all-features --examples` first, as the README's test command does)",
            p.display()
        ))
    }
}

/// Starts the example on 127.0.0.1 (port chosen by the kernel); returns
/// its guard and port, read from its first line of output.
fn start_example() -> (Guard, u16) {
    let mut child = Guard(
        Command::new(example_path("websocket"))
            .args(["--addr", "127.0.0.1:0"])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the websocket example starts"),
    );
    let out = child.0.stdout.take().expect("its stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(out).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the example says where it listens");
    // "listening on https://127.0.0.1:PORT/"
    let port = line
        .trim()
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    (child, port)
}

/// A pipe as (read end, write end), both close-on-exec.
fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` is a valid array of two ints for pipe2 to fill.
    let r = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(r, 0, "pipe2: {}", std::io::Error::last_os_error());
    // SAFETY: pipe2 succeeded: both are open descriptors we now own.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// Chromium with its DevTools protocol on a pipe.
struct Browser {
    child: Guard,
    to: std::fs::File,
    from: mpsc::Receiver<Value>,
    next_id: u64,
}

impl Browser {
    fn start(url: &str, dir: &Path, net_log: &Path) -> Browser {
        let (cmd_read, cmd_write) = pipe(); // we write commands, fd 3 reads
        let (ev_read, ev_write) = pipe(); // fd 4 writes answers, we read
        let (r3, w4) = (cmd_read.as_raw_fd(), ev_write.as_raw_fd());
        let mut cmd = Command::new(harness::program("chromium"));
        cmd.args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--ignore-certificate-errors",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--no-first-run",
            "--no-default-browser-check",
            "--remote-debugging-pipe",
        ])
        .arg(format!("--log-net-log={}", net_log.display()))
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        // SAFETY: only async-signal-safe calls (fcntl, dup2) between fork
        // and exec. The descriptors are first moved above 10 so that
        // placing them at 3 and 4 cannot overwrite one with the other.
        unsafe {
            cmd.pre_exec(move || {
                let a = libc::fcntl(r3, libc::F_DUPFD, 10);
                let b = libc::fcntl(w4, libc::F_DUPFD, 10);
                if a < 0 || b < 0 || libc::dup2(a, 3) < 0 || libc::dup2(b, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = Guard(cmd.spawn().expect("chromium starts"));
        drop((cmd_read, ev_write));
        let (tx, rx) = mpsc::channel();
        let mut from = std::fs::File::from(ev_read);
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 64 << 10];
            loop {
                let n = match from.read(&mut chunk) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                buf.extend_from_slice(&chunk[..n]);
                while let Some(end) = buf.iter().position(|&b| b == 0) {
                    let msg: Vec<u8> = buf.drain(..=end).collect();
                    if let Ok(v) = serde_json::from_slice(&msg[..end]) {
                        if tx.send(v).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        Browser {
            child,
            to: std::fs::File::from(cmd_write),
            from: rx,
            next_id: 0,
        }
    }

    /// Sends a command (to the page's `session` if given) and returns its
    /// result, skipping events; `Err` on an error answer or by `deadline`.
    fn call(
        &mut self,
        session: Option<&str>,
        method: &str,
        params: Value,
        deadline: Instant,
    ) -> Result<Value, String> {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        let mut bytes = serde_json::to_vec(&msg).expect("json");
        bytes.push(0);
        self.to
            .write_all(&bytes)
            .map_err(|e| format!("{method}: {e}"))?;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let v = self
                .from
                .recv_timeout(left)
                .map_err(|_| format!("{method}: no answer in time"))?;
            if v["id"].as_u64() != Some(id) {
                continue;
            }
            if let Some(e) = v.get("error") {
                return Err(format!("{method}: {e}"));
            }
            return Ok(v["result"].clone());
        }
    }

    /// Closes the browser (it writes the end of its net log) and waits for
    /// it to exit.
    fn close(mut self, deadline: Instant) {
        let _ = self.call(None, "Browser.close", json!({}), deadline);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// One browser run: the page's verdict (`ok 1000 ...` or `fail ...`).
fn run_page(url: &str, dir: &Path, net_log: &Path, deadline: Instant) -> Result<String, String> {
    let mut b = Browser::start(url, dir, net_log);
    let verdict = (|| {
        let mut target = None;
        while target.is_none() {
            let t = b.call(None, "Target.getTargets", json!({}), deadline)?;
            target = t["targetInfos"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|t| t["type"] == "page")
                .and_then(|t| t["targetId"].as_str().map(str::to_owned));
            if target.is_none() {
                if Instant::now() >= deadline {
                    return Err("no page target".to_owned());
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        let a = b.call(
            None,
            "Target.attachToTarget",
            json!({ "targetId": target, "flatten": true }),
            deadline,
        )?;
        let session = a["sessionId"].as_str().ok_or("no session id")?.to_owned();
        let expression = "(document.getElementById('result') || {}).textContent || ''";
        loop {
            let r = b.call(
                Some(&session),
                "Runtime.evaluate",
                json!({ "expression": expression, "returnByValue": true }),
                deadline,
            )?;
            let text = r["result"]["value"].as_str().unwrap_or("").to_owned();
            if text.starts_with("ok") || text.starts_with("fail") {
                return Ok(text);
            }
            if Instant::now() >= deadline {
                return Err(format!("no verdict in time (the page says {text:?})"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    })();
    b.close(deadline);
    verdict
}

/// The net log as JSON; a log cut short (a browser that did not finish it)
/// is closed by hand, as Chromium's own viewer does.
fn read_net_log(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("the net log");
    serde_json::from_str(&text).unwrap_or_else(|_| {
        let t = text.trim_end().trim_end_matches(',');
        serde_json::from_str(&format!("{t}]}}")).expect("a net log that parses")
    })
}

/// What the net log says about the HTTP/2 sessions to `host`.
#[derive(Debug, Default)]
struct Sessions {
    /// Ids of the HTTP2_SESSION sources to `host`.
    ids: BTreeSet<u64>,
    /// The session that sent `GET /`.
    page: Option<u64>,
    /// The session and stream of the extended CONNECT to /ws.
    websocket: Option<(u64, u64)>,
    /// The WebSocket stream's response status.
    websocket_status: Option<String>,
    /// Our SETTINGS_ENABLE_CONNECT_PROTOCOL as Chromium logged it.
    enable_connect_protocol: Option<u64>,
    /// The SETTINGS Chromium sent.
    client_settings: Vec<String>,
    /// DATA bytes on the WebSocket stream: sent, received.
    ws_bytes: (u64, u64),
    /// RST_STREAMs Chromium sent or received on the WebSocket stream.
    ws_resets: Vec<String>,
}

fn sessions(log: &Value, host: &str) -> Sessions {
    let names: std::collections::HashMap<u64, String> = log["constants"]["logEventTypes"]
        .as_object()
        .expect("event types")
        .iter()
        .filter_map(|(k, v)| Some((v.as_u64()?, k.clone())))
        .collect();
    let mut s = Sessions::default();
    let headers = |e: &Value| -> Vec<String> {
        e["params"]["headers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|h| h.as_str().map(str::to_owned))
            .collect()
    };
    for e in log["events"].as_array().expect("events") {
        let Some(name) = e["type"].as_u64().and_then(|t| names.get(&t)) else {
            continue;
        };
        let src = e["source"]["id"].as_u64().unwrap_or(0);
        let p = &e["params"];
        match name.as_str() {
            "HTTP2_SESSION" if p["host"].as_str() == Some(host) => {
                s.ids.insert(src);
            }
            _ if !s.ids.contains(&src) => {}
            "HTTP2_SESSION_SEND_SETTINGS" => {
                s.client_settings = p["settings"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect();
            }
            "HTTP2_SESSION_RECV_SETTING"
                if p["id"].as_str().is_some_and(|id| id.starts_with("8 ")) =>
            {
                s.enable_connect_protocol = p["value"].as_u64();
            }
            "HTTP2_SESSION_SEND_HEADERS" => {
                let h = headers(e);
                let has = |f: &str| h.iter().any(|x| x == f);
                if has(":method: GET") && has(":path: /") {
                    s.page.get_or_insert(src);
                }
                if has(":method: CONNECT") && has(":protocol: websocket") && has(":path: /ws") {
                    s.websocket = Some((src, p["stream_id"].as_u64().unwrap_or(0)));
                }
            }
            "HTTP2_SESSION_RECV_HEADERS" => {
                if let Some((_, id)) = s.websocket {
                    if p["stream_id"].as_u64() == Some(id) {
                        s.websocket_status =
                            headers(e).into_iter().find(|h| h.starts_with(":status"));
                    }
                }
            }
            "HTTP2_SESSION_SEND_DATA" | "HTTP2_SESSION_RECV_DATA" => {
                if let Some((_, id)) = s.websocket {
                    if p["stream_id"].as_u64() == Some(id) {
                        let n = p["size"].as_u64().unwrap_or(0);
                        if name.ends_with("SEND_DATA") {
                            s.ws_bytes.0 += n;
                        } else {
                            s.ws_bytes.1 += n;
                        }
                    }
                }
            }
            "HTTP2_SESSION_SEND_RST_STREAM" | "HTTP2_SESSION_RECV_RST_STREAM" => {
                if let Some((_, id)) = s.websocket {
                    if p["stream_id"].as_u64() == Some(id) {
                        s.ws_resets.push(format!("{name} {}", p["error_code"]));
                    }
                }
            }
            _ => {}
        }
    }
    s
}

fn chromium_websocket_echo_rides_the_pages_http2_session() {
    let started = Instant::now();
    let deadline = started + LIMIT;
    let (_server, port) = start_example();
    let url = format!("https://127.0.0.1:{port}/");
    let mut verdict = Err(String::new());
    let mut log = None;
    for attempt in 1..=2 {
        let dir = Dir::new(&format!("chromium-{attempt}"));
        let net_log = dir.0.join("net-log.json");
        // The first attempt may use up to 30 s (a run takes about 6); a
        // retry gets what is left.
        let limit = if attempt == 1 {
            started + Duration::from_secs(30)
        } else {
            deadline
        };
        verdict = run_page(&url, &dir.0, &net_log, limit);
        eprintln!("chromium attempt {attempt}: {verdict:?}");
        if verdict.is_ok() {
            log = Some(read_net_log(&net_log));
            break;
        }
        if Instant::now() + Duration::from_secs(5) > deadline {
            break;
        }
    }
    let verdict = verdict.expect("chromium gave the page's verdict");
    assert!(verdict.starts_with("ok 1000 "), "the page says {verdict:?}");
    let s = sessions(&log.expect("a net log"), &format!("127.0.0.1:{port}"));
    eprintln!("{verdict} in {:?}; net log: {s:#?}", started.elapsed());
    assert_eq!(s.ids.len(), 1, "one HTTP/2 session to the server: {s:?}");
    assert_eq!(s.enable_connect_protocol, Some(1), "{s:?}");
    let page = s.page.expect("the page's GET / in the net log");
    let (ws_session, ws_stream) = s.websocket.expect("an extended CONNECT in the net log");
    assert_eq!(
        ws_session, page,
        "the WebSocket rode the page's HTTP/2 session"
    );
    assert!(
        ws_stream > 1,
        "the WebSocket is a later stream: {ws_stream}"
    );
    assert_eq!(s.websocket_status.as_deref(), Some(":status: 200"));
    // Each message crossed the stream both ways (plus WebSocket framing).
    assert!(
        s.ws_bytes.0 > 30_000_000 && s.ws_bytes.1 > 30_000_000,
        "{:?}",
        s.ws_bytes
    );
    assert!(started.elapsed() < LIMIT);
}

fn main() {
    harness::main(harness::tests![
        chromium_websocket_echo_rides_the_pages_http2_session: [
            Program("chromium"),
            Check("the websocket example binary", example_built)
        ],
    ]);
}

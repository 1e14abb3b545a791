//! The approval inbox in a real browser: headless Chromium, driven over the
//! WebDriver protocol by chromedriver on 127.0.0.1, signs in with an
//! approver key and approves a parked action using the keyboard only; the
//! agent's release then executes it. An instruction carrying HTML is shown
//! as text. The set-up installs Debian's `chromium` and `chromium-driver`
//! when they are missing and it can (root, apt); otherwise the test prints
//! SKIPPED and passes. With `DELEGO_UPDATE_SCREENSHOT=1` it rewrites
//! docs/inbox.png.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use delego_e2e::{add_key, http_call, workspace_root, HomeCli, ServerProcess};
use delego_spec::json::{parse, to_canonical_string, Map, Value};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
const ENTER: &str = "\u{E007}";
const ORDER: &str = r#"{"instruction":"Buy 24 units <img src=x onerror=alert(1)> for the Q3 restock","method":"POST","url":"https://api.example.com/orders","params":{"amount":2400,"currency":"USD","destination":"internal"}}"#;

fn have(program: &str) -> bool {
    Command::new("which")
        .arg(program)
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// chromium and chromedriver, installed with apt if missing and possible.
fn browser() -> Result<(), String> {
    if have("chromium") && have("chromedriver") {
        return Ok(());
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    if !root {
        return Err("chromium/chromedriver are missing and installing them needs root".into());
    }
    let installed = Command::new("apt-get")
        .args(["install", "-y", "-qq", "chromium", "chromium-driver"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run apt-get: {e}"))?;
    if installed.success() && have("chromium") && have("chromedriver") {
        Ok(())
    } else {
        Err("apt-get install chromium chromium-driver failed".into())
    }
}

struct Driver {
    child: Child,
    base: String,
    session: String,
    client: reqwest::blocking::Client,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self
            .client
            .delete(format!("{}/session/{}", self.base, self.session))
            .send();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    fn start() -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("chromedriver")
            .args([format!("--port={port}"), "--allowed-ips=127.0.0.1".into()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client");
        let deadline = Instant::now() + Duration::from_secs(20);
        while client.get(format!("{base}/status")).send().is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let capabilities = r#"{"capabilities":{"alwaysMatch":{"browserName":"chrome","goog:chromeOptions":{"binary":"/usr/bin/chromium","args":["--headless=new","--no-sandbox","--disable-gpu","--disable-dev-shm-usage","--window-size=1000,820"]}}}}"#;
        let mut driver = Driver {
            child,
            base,
            session: String::new(),
            client,
        };
        let value = driver.post("/session", capabilities);
        driver.session = field(&value, "sessionId")
            .as_str()
            .expect("a session")
            .to_owned();
        driver
    }

    fn post(&self, path: &str, body: &str) -> Value {
        let url = if path == "/session" {
            format!("{}{path}", self.base)
        } else {
            format!("{}/session/{}{path}", self.base, self.session)
        };
        let text = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .and_then(|r| r.text())
            .expect("a WebDriver answer");
        let value = parse(&text).expect("JSON from WebDriver");
        field(&value, "value").clone()
    }

    fn get(&self, path: &str) -> Value {
        let text = self
            .client
            .get(format!("{}/session/{}{path}", self.base, self.session))
            .send()
            .and_then(|r| r.text())
            .expect("a WebDriver answer");
        field(&parse(&text).expect("JSON"), "value").clone()
    }

    /// Elements matching a CSS selector (their WebDriver ids).
    fn find(&self, css: &str) -> Vec<String> {
        let mut body = Map::new();
        body.insert("using".into(), "css selector".into());
        body.insert("value".into(), css.into());
        let found = self.post("/elements", &to_canonical_string(&Value::Object(body)));
        found
            .as_array()
            .unwrap_or(&[])
            .iter()
            .filter_map(|e| field(e, ELEMENT).as_str().map(str::to_owned))
            .collect()
    }

    fn wait_for(&self, css: &str, count: impl Fn(usize) -> bool) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let found = self.find(css);
            if count(found.len()) {
                return found;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {css}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn type_into(&self, element: &str, text: &str) {
        let mut body = Map::new();
        body.insert("text".into(), text.into());
        self.post(
            &format!("/element/{element}/value"),
            &to_canonical_string(&Value::Object(body)),
        );
    }

    fn text(&self, element: &str) -> String {
        self.get(&format!("/element/{element}/text"))
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

fn field<'a>(value: &'a Value, key: &str) -> &'a Value {
    value
        .as_object()
        .and_then(|m| m.get(key))
        .unwrap_or(&Value::Null)
}

#[test]
fn an_approver_approves_a_parked_action_in_the_browser_with_the_keyboard() {
    if let Err(reason) = browser() {
        println!("SKIPPED: {reason}");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let home = HomeCli::new(dir.path().join("home"));
    home.init();
    let agent = add_key(&home, "agent-1", "agent");
    let alice = add_key(&home, "alice", "approver");
    let server = ServerProcess::serve(&home);
    let (status, parked) = http_call(&server.base, Some(&agent), "/v1/actions", Some(ORDER));
    assert_eq!(status, 200, "{parked:?}");
    let id = field(&parked, "approval_id")
        .as_str()
        .expect("parked")
        .to_owned();

    let driver = Driver::start();
    let mut url = Map::new();
    url.insert("url".into(), format!("{}/inbox", server.base).into());
    driver.post("/url", &to_canonical_string(&Value::Object(url)));
    // Sign in with the keyboard: the key, then Enter.
    let key_input = driver.wait_for("#key", |n| n == 1).remove(0);
    driver.type_into(&key_input, &format!("{alice}{ENTER}"));
    let card = driver.wait_for("#pending .card", |n| n == 1).remove(0);
    let shown = driver.text(&card);
    // The instruction is text, not markup.
    assert!(
        shown.contains("Buy 24 units <img src=x onerror=alert(1)> for the Q3 restock"),
        "{shown}"
    );
    assert!(driver.find("#pending .card img").is_empty());
    assert!(shown.contains("POST api.example.com/orders"), "{shown}");
    assert!(shown.contains("place-order"), "{shown}");
    assert!(shown.contains("0 of 1"), "{shown}");
    let note = driver.wait_for("#pending .note", |n| n == 1).remove(0);
    driver.type_into(&note, "matches the Q3 restock PO");
    let screenshot = driver.get("/screenshot");
    let png = base64::engine::general_purpose::STANDARD
        .decode(screenshot.as_str().expect("a screenshot"))
        .expect("base64 PNG");
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    if std::env::var_os("DELEGO_UPDATE_SCREENSHOT").is_some() {
        let docs = workspace_root().join("docs");
        std::fs::create_dir_all(&docs).expect("docs/");
        std::fs::write(docs.join("inbox.png"), &png).expect("write docs/inbox.png");
    }
    // Approve with Enter on the focused button: no mouse.
    let approve = driver.wait_for("#pending .approve", |n| n == 1).remove(0);
    driver.type_into(&approve, ENTER);
    driver.wait_for("#pending .card", |n| n == 0);
    let decided = driver.wait_for("#history .card", |n| n == 1).remove(0);
    let history = driver.text(&decided);
    assert!(history.contains("approved by alice"), "{history}");
    assert!(history.contains("matches the Q3 restock PO"), "{history}");

    // Live: an action parked while the page is open appears without a
    // reload (server-sent events), with its own note field and buttons.
    let (status, _) = http_call(&server.base, Some(&agent), "/v1/actions", Some(ORDER));
    assert_eq!(status, 200);
    let fresh = driver.wait_for("#pending .card", |n| n == 1).remove(0);
    assert!(driver.text(&fresh).contains("pending"));
    let deny = driver.wait_for("#pending .deny", |n| n == 1).remove(0);
    driver.type_into(&deny, ENTER);
    driver.wait_for("#history .card", |n| n == 2);

    // The agent releases the approved one: executed once.
    let (status, released) = http_call(
        &server.base,
        Some(&agent),
        &format!("/v1/approvals/{id}/resolve"),
        Some(ORDER),
    );
    assert_eq!(status, 200);
    assert_eq!(
        field(&released, "outcome").as_str(),
        Some("allow"),
        "{released:?}"
    );
    // Its receipts (parked, then executed) show in the history.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let texts: Vec<String> = driver
            .find("#history .receipts")
            .iter()
            .map(|e| driver.text(e))
            .collect();
        if texts
            .iter()
            .any(|t| t.contains("#0 decision/needs_approval") && t.contains("execution/allow"))
        {
            break;
        }
        assert!(Instant::now() < deadline, "receipts never shown: {texts:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    // An agent key cannot use the inbox's calls.
    for path in ["/v1/approvals/history", "/v1/approvals/events"] {
        let (status, _) = http_call(&server.base, Some(&agent), path, None);
        assert_eq!(status, 403, "{path}");
    }
    let page = reqwest::blocking::get(format!("{}/inbox", server.base)).expect("GET /inbox");
    let policy = page.headers()["content-security-policy"]
        .to_str()
        .expect("CSP")
        .to_owned();
    assert!(
        policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"),
        "{policy}"
    );
}

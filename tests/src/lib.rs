//! Helpers for end-to-end tests: locating the built `delego` binary and
//! running it as a separate process with a bounded timeout.
//!
//! The binary is looked up next to the running test executable: a test is
//! `<target>/<profile>/deps/<name>-<hash>` and the binary
//! `<target>/<profile>/delego`. Cargo only builds that binary for the `cli`
//! package's own integration tests, so build it first if it is missing:
//! `cargo build -p delego-cli` (with the same `CARGO_TARGET_DIR` and profile).
#![forbid(unsafe_code)]

pub mod venv;

use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use delego_spec::json::{parse, to_canonical_string, Value};

/// How long one run of the binary may take before it is killed.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The workspace root (the directory holding `spec/`, `cli/` and `tests/`).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .unwrap_or_else(|| panic!("{} has no parent directory", manifest.display()))
        .to_path_buf()
}

/// The upstream CTK vectors: `spec/tests/vectors/ctk`.
pub fn ctk_dir() -> PathBuf {
    workspace_root().join("spec/tests/vectors/ctk")
}

/// The reference-generated vectors: `spec/tests/vectors/reference`.
pub fn reference_dir() -> PathBuf {
    workspace_root().join("spec/tests/vectors/reference")
}

/// Reads a file the tests depend on, panicking with its path on failure.
pub fn read_bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Reads a UTF-8 file the tests depend on, panicking with its path on failure.
pub fn read_text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Writes a file in a test's temporary directory, panicking with its path on
/// failure.
pub fn write_file(path: &Path, contents: impl AsRef<[u8]>) {
    std::fs::write(path, contents)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// The `delego` binary cargo built into the same target directory and
/// profile as the running test executable.
///
/// Panics with instructions when it is missing. When it is older than the
/// `cli`/`spec` sources it is still used, with a warning on stderr (shown by
/// the test harness for failing tests), since a stale binary is the most
/// likely cause of a surprising failure.
pub fn delego_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let bin = locate_bin();
        warn_if_stale(&bin);
        bin
    })
    .clone()
}

fn locate_bin() -> PathBuf {
    let exe = std::env::current_exe()
        .unwrap_or_else(|e| panic!("cannot locate the running test executable: {e}"));
    // <target>/<profile>/deps/<test>-<hash>  →  <target>/<profile>
    let profile_dir = exe
        .parent()
        .filter(|deps| deps.file_name() == Some(OsStr::new("deps")))
        .and_then(Path::parent)
        .unwrap_or_else(|| {
            panic!(
                "the test executable {} is not in a cargo <target>/<profile>/deps directory; \
                 cannot find the delego binary next to it",
                exe.display()
            )
        });
    let bin = profile_dir.join(format!("delego{}", std::env::consts::EXE_SUFFIX));
    if !bin.is_file() {
        let profile = profile_dir
            .file_name()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let flag = match profile.as_str() {
            "debug" => String::new(),
            "release" => " --release".to_owned(),
            other => format!(" --profile {other}"),
        };
        let target_dir = profile_dir.parent().unwrap_or(profile_dir);
        let env = if target_dir == workspace_root().join("target") {
            String::new()
        } else {
            format!("CARGO_TARGET_DIR={} ", target_dir.display())
        };
        panic!(
            "the delego binary was not found at {}.\n\
             `cargo test` does not build another package's binary for these tests; build it first \
             (with the same CARGO_TARGET_DIR and profile as the test run):\n\
             \n    {env}cargo build -p delego-cli{flag}\n",
            bin.display(),
        );
    }
    bin
}

/// Warns (on stderr) when a source file of the binary is newer than it.
fn warn_if_stale(bin: &Path) {
    let Ok(built) = std::fs::metadata(bin).and_then(|m| m.modified()) else {
        return;
    };
    let root = workspace_root();
    let mut newest: Option<(SystemTime, PathBuf)> = None;
    for dir in ["cli/src", "spec/src"] {
        newest_file(&root.join(dir), &mut newest);
    }
    if let Some((modified, path)) = newest {
        if modified > built {
            eprintln!(
                "warning: {} is newer than {}; the tests run the old binary. \
                 Rebuild with `cargo build -p delego-cli`.",
                path.display(),
                bin.display()
            );
        }
    }
}

fn newest_file(dir: &Path, newest: &mut Option<(SystemTime, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_dir() {
            newest_file(&path, newest);
        } else if let Ok(modified) = meta.modified() {
            let is_newer = match newest {
                Some((time, _)) => modified > *time,
                None => true,
            };
            if is_newer {
                *newest = Some((modified, path));
            }
        }
    }
}

/// What one run of the binary produced.
#[derive(Debug, Clone)]
pub struct Output {
    /// The exit code (a run ended by a signal panics instead).
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// The stdout lines, without terminators.
    pub fn stdout_lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    /// The problem lines `verify` printed (`  - <problem>`), without the
    /// two-space-dash prefix.
    pub fn problems(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .filter_map(|line| line.strip_prefix("  - "))
            .collect()
    }

    /// Whether stdout has exactly this line.
    pub fn has_line(&self, line: &str) -> bool {
        self.stdout.lines().any(|l| l == line)
    }

    /// Asserts the run refused its input the documented way: exit code 2,
    /// exactly one stderr line starting with `error:`, no panic or backtrace.
    /// Returns that line.
    pub fn assert_usage_error(&self) -> &str {
        assert_eq!(
            self.code, 2,
            "expected exit code 2 for unusable input\n{self}"
        );
        assert_no_panic(&self.stderr, self);
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "expected one stderr line\n{self}");
        assert!(
            lines[0].starts_with("error:"),
            "stderr must start with 'error:'\n{self}"
        );
        lines[0]
    }
}

/// Asserts that a process's stderr shows no sign of a Rust panic.
pub fn assert_no_panic(stderr: &str, context: &dyn std::fmt::Display) {
    for marker in [
        "panicked",
        "RUST_BACKTRACE",
        "stack backtrace",
        "thread 'main'",
    ] {
        assert!(
            !stderr.contains(marker),
            "stderr shows a panic ({marker:?})\n{context}"
        );
    }
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit code: {}\n--- stdout ---\n{}--- stderr ---\n{}--------------",
            self.code, self.stdout, self.stderr
        )
    }
}

/// One invocation of the binary: `Delego::new().arg(..).stdin(..).run()`.
#[derive(Debug, Clone)]
pub struct Delego {
    args: Vec<OsString>,
    stdin: Option<Vec<u8>>,
    timeout: Duration,
}

impl Default for Delego {
    fn default() -> Self {
        Self::new()
    }
}

impl Delego {
    pub fn new() -> Self {
        Delego {
            args: Vec::new(),
            stdin: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Bytes fed on stdin (otherwise stdin is empty: `/dev/null`).
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Runs the binary to completion, killing it after the timeout (which
    /// panics, as does a run ended by a signal).
    pub fn run(&self) -> Output {
        let bin = delego_bin();
        let shown = format!(
            "delego {}",
            self.args
                .iter()
                .map(|a| a.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" ")
        );
        let mut command = Command::new(&bin);
        command
            .args(&self.args)
            // A panic would print its backtrace, which the tests look for.
            .env("RUST_BACKTRACE", "1");
        match run_command(&mut command, self.stdin.as_deref(), self.timeout) {
            Ok(output) => output,
            Err(message) => panic!("`{shown}`: {message}"),
        }
    }
}

/// Runs any program to completion with optional stdin, killing it after
/// `timeout`. A program that cannot start, times out or is ended by a signal
/// is an `Err` describing what happened (with whatever it printed).
pub fn run_command(
    command: &mut Command,
    stdin: Option<&[u8]>,
    timeout: Duration,
) -> Result<Output, String> {
    let shown = format!("{command:?}");
    let mut child = command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {shown}: {e}"))?;

    let writer = match (child.stdin.take(), stdin) {
        (Some(mut pipe), Some(bytes)) => {
            let bytes = bytes.to_vec();
            // The child may exit without reading everything (a broken pipe
            // is then expected and harmless).
            Some(thread::spawn(move || {
                let _ = pipe.write_all(&bytes);
            }))
        }
        _ => None,
    };
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);

    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => {
                // Best effort: the process may have exited meanwhile.
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(format!("cannot wait for {shown}: {e}")),
        }
    };
    if let Some(writer) = writer {
        let _ = writer.join();
    }
    let stdout = collect(stdout, "stdout", &shown);
    let stderr = collect(stderr, "stderr", &shown);
    let Some(status) = status else {
        return Err(format!(
            "did not finish within {timeout:?} and was killed\n--- stdout ---\n{stdout}--- stderr ---\n{stderr}"
        ));
    };
    let Some(code) = status.code() else {
        return Err(format!(
            "was ended by a signal ({status})\n--- stdout ---\n{stdout}--- stderr ---\n{stderr}"
        ));
    };
    Ok(Output {
        code,
        stdout,
        stderr,
    })
}

/// Runs `delego ARGS` with optional stdin and the default timeout.
pub fn run<I, S>(args: I, stdin: Option<&[u8]>) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = Delego::new().args(args);
    if let Some(bytes) = stdin {
        command = command.stdin(bytes);
    }
    command.run()
}

fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<std::io::Result<Vec<u8>>> {
    thread::spawn(move || {
        let mut buffer = Vec::new();
        pipe.read_to_end(&mut buffer).map(|_| buffer)
    })
}

fn collect(
    reader: Option<thread::JoinHandle<std::io::Result<Vec<u8>>>>,
    name: &str,
    shown: &str,
) -> String {
    let Some(reader) = reader else {
        return String::new();
    };
    let bytes = reader
        .join()
        .unwrap_or_else(|_| panic!("the thread reading {name} of `{shown}` panicked"))
        .unwrap_or_else(|e| panic!("cannot read {name} of `{shown}`: {e}"));
    String::from_utf8(bytes).unwrap_or_else(|e| {
        panic!(
            "{name} of `{shown}` is not UTF-8: {}",
            String::from_utf8_lossy(e.as_bytes())
        )
    })
}

/// A delego home driven through the CLI: every call is
/// `delego --home DIR ARGS`.
#[derive(Debug, Clone)]
pub struct HomeCli {
    pub dir: PathBuf,
}

impl HomeCli {
    pub fn new(dir: impl Into<PathBuf>) -> HomeCli {
        HomeCli { dir: dir.into() }
    }

    /// `delego --home DIR`, ready for more arguments.
    pub fn command(&self) -> Delego {
        Delego::new().arg("--home").arg(&self.dir)
    }

    /// Runs `delego --home DIR ARGS`.
    pub fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command().args(args).run()
    }

    /// Runs a command that must succeed (exit 0, no stderr); returns its
    /// output.
    pub fn ok<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let out = self.run(args);
        assert_eq!(out.code, 0, "{out}");
        assert_no_panic(&out.stderr, &out);
        assert_eq!(out.stderr, "", "{out}");
        out
    }

    /// `delego init`, which must succeed.
    pub fn init(&self) -> Output {
        self.ok(["init"])
    }

    /// `propose --action JSON`: the decision line, parsed.
    pub fn propose(&self, action: &str) -> Value {
        decision_of(&self.ok(["propose", "--action", action]))
    }

    /// `resolve ID --action JSON`: the decision line, parsed.
    pub fn resolve(&self, approval_id: &str, action: &str) -> Value {
        decision_of(&self.ok(["resolve", approval_id, "--action", action]))
    }

    /// Every receipt of the home, as `log --json` prints them.
    pub fn receipts(&self) -> Vec<Value> {
        let out = self.ok(["log", "--json", "-n", "1000000"]);
        out.stdout_lines()
            .into_iter()
            .map(|line| {
                parse(line)
                    .unwrap_or_else(|e| panic!("log --json printed a non-JSON line: {e}\n{out}"))
            })
            .collect()
    }

    /// `export` to a file, returning the exported text.
    pub fn export_to(&self, path: &Path) -> String {
        self.ok([OsStr::new("export"), OsStr::new("--out"), path.as_os_str()]);
        read_text(path)
    }
}

/// The single JSON line `propose`/`resolve` printed, parsed.
pub fn decision_of(out: &Output) -> Value {
    let lines = out.stdout_lines();
    assert_eq!(lines.len(), 1, "expected one decision line\n{out}");
    let value = parse(lines[0]).unwrap_or_else(|e| panic!("the decision is not JSON: {e}\n{out}"));
    assert!(
        value.as_object().is_some(),
        "the decision is not an object\n{out}"
    );
    value
}

/// `value[key]` of a JSON object (`Null` when absent or not an object).
pub fn field<'a>(value: &'a Value, key: &str) -> &'a Value {
    static NULL: Value = Value::Null;
    value.as_object().and_then(|m| m.get(key)).unwrap_or(&NULL)
}

/// `value[key]` as a string, panicking when it is not one.
pub fn str_field<'a>(value: &'a Value, key: &str) -> &'a str {
    field(value, key)
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string in {}", to_canonical_string(value)))
}

/// `value[key]` as a list of strings, panicking when it is not one.
pub fn strings_field(value: &Value, key: &str) -> Vec<String> {
    field(value, key)
        .as_array()
        .unwrap_or_else(|| panic!("{key} is not a list in {}", to_canonical_string(value)))
        .iter()
        .map(|item| {
            item.as_str()
                .unwrap_or_else(|| {
                    panic!("{key} holds a non-string in {}", to_canonical_string(value))
                })
                .to_owned()
        })
        .collect()
}

/// A `delego` server process (`serve`, `witness serve`, `log-server`) whose
/// first stdout line is `listening on ADDR`; killed when dropped.
pub struct ServerProcess {
    child: std::process::Child,
    /// `http://ADDR`.
    pub base: String,
    /// stdout after the first line.
    lines: std::sync::mpsc::Receiver<String>,
}

impl ServerProcess {
    /// Starts `delego ARGS` and waits (at most 30 s) for its address; the
    /// rest of stdout is drained so the server never blocks on it.
    pub fn start<I, S>(args: I) -> ServerProcess
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        use std::io::BufRead as _;
        let mut child = std::process::Command::new(delego_bin())
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start a delego server");
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // Lines nobody waits for are dropped; stdout keeps draining.
                let _ = sender.send(line);
            }
        });
        let Ok(line) = receiver.recv_timeout(Duration::from_secs(30)) else {
            let _ = child.kill();
            panic!("the server printed no address within 30 s");
        };
        let addr = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first stdout line {line:?}"))
            .to_owned();
        assert!(addr.starts_with("127.0.0.1:"), "{addr}");
        ServerProcess {
            child,
            base: format!("http://{addr}"),
            lines: receiver,
        }
    }

    /// The next stdout line, waiting at most `timeout`.
    pub fn next_line(&self, timeout: Duration) -> Option<String> {
        self.lines.recv_timeout(timeout).ok()
    }

    /// SIGKILL, and reap.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `delego keys add NAME --role ROLE` in `home`: the key it printed.
pub fn add_key(home: &HomeCli, name: &str, role: &str) -> String {
    // The key is the only stdout line; the notice goes to stderr.
    let out = home.run(["keys", "add", name, "--role", role]);
    assert_eq!(out.code, 0, "{out}");
    out.stdout.trim().to_owned()
}

impl ServerProcess {
    /// `delego --home DIR serve` on a free loopback port.
    pub fn serve(home: &HomeCli) -> ServerProcess {
        ServerProcess::start([
            OsStr::new("--home"),
            home.dir.as_os_str(),
            OsStr::new("serve"),
            OsStr::new("--listen"),
            OsStr::new("127.0.0.1:0"),
        ])
    }

    /// The server's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }
}

/// One request to a delego HTTP API: a POST with a JSON body, or a GET;
/// `key` as the bearer. The status and the answer as JSON (an answer that
/// is not JSON comes back as a string value).
pub fn http_call(base: &str, key: Option<&str>, path: &str, body: Option<&str>) -> (u16, Value) {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client");
    let mut request = match body {
        Some(body) => client
            .post(format!("{base}{path}"))
            .header("content-type", "application/json")
            .body(body.to_owned()),
        None => client.get(format!("{base}{path}")),
    };
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().expect("an HTTP answer");
    let status = response.status().as_u16();
    let text = response.text().expect("the answer's body");
    (status, parse(&text).unwrap_or(Value::String(text)))
}

/// Proposes `action` `count` times as `key`; each must be answered 200.
pub fn propose_over_http(base: &str, key: &str, action: &str, count: usize) {
    for _ in 0..count {
        let (status, answer) = http_call(base, Some(key), "/v1/actions", Some(action));
        assert_eq!(status, 200, "{answer:?}");
    }
}

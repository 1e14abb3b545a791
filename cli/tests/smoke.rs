//! The binary runs and identifies itself. Being an integration test of the
//! cli package, this also makes `cargo test --workspace` build `delego`,
//! which the end-to-end tests in `tests/` run as a separate process.

use std::process::Command;

#[test]
fn the_binary_reports_its_version() {
    let output = Command::new(env!("CARGO_BIN_EXE_delego"))
        .arg("--version")
        .output()
        .expect("run delego");
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with("delego "), "{stdout}");
}

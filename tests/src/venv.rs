//! Python virtualenvs the tests install packages into (the reference, an
//! MCP client): cached under the system temp dir across runs, installed by
//! one test process at a time, and reported as an `Err` (for the test to
//! print as a skip) when python3 or the package index is unavailable.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use crate::run_command;

/// Makes `venv` a virtualenv with `requirement` installed, unless `usable`
/// already holds. Returns the venv's `python`.
pub fn ensure_venv(
    venv: &Path,
    requirement: &str,
    install_timeout: Duration,
    usable: impl Fn() -> bool,
) -> Result<PathBuf, String> {
    let python = venv.join("bin").join("python");
    if usable() {
        return Ok(python);
    }
    // Another test process may be installing it: one installer at a time.
    let _lock = InstallLock::acquire(venv, install_timeout)?;
    if usable() {
        return Ok(python);
    }
    if venv.exists() {
        fs::remove_dir_all(venv)
            .map_err(|e| format!("cannot remove the unusable {}: {e}", venv.display()))?;
    }
    let created = run_command(
        Command::new("python3").arg("-m").arg("venv").arg(venv),
        None,
        Duration::from_secs(120),
    )?;
    if created.code != 0 {
        return Err(format!(
            "python3 -m venv {} failed\n{created}",
            venv.display()
        ));
    }
    let installed = run_command(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--quiet",
            ])
            .arg(requirement),
        None,
        install_timeout,
    )?;
    if installed.code != 0 {
        return Err(format!("pip install {requirement} failed\n{installed}"));
    }
    if !usable() {
        return Err(format!(
            "installed {requirement} into {}, but it is not usable",
            venv.display()
        ));
    }
    Ok(python)
}

/// A lock directory next to the venv, removed on drop; a lock older than
/// the install timeout is stale (its holder died).
struct InstallLock(PathBuf);

impl InstallLock {
    fn acquire(venv: &Path, install_timeout: Duration) -> Result<InstallLock, String> {
        let name = venv.file_name().unwrap_or_default().to_string_lossy();
        let path = venv.with_file_name(format!("{name}.lock"));
        let patience = install_timeout + Duration::from_secs(60);
        let started = Instant::now();
        loop {
            match fs::create_dir(&path) {
                Ok(()) => return Ok(InstallLock(path)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let age = fs::metadata(&path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| SystemTime::now().duration_since(t).ok())
                        .unwrap_or_default();
                    if age > patience {
                        let _ = fs::remove_dir(&path);
                    } else if started.elapsed() > patience {
                        return Err(format!(
                            "timed out waiting for another install (lock {})",
                            path.display()
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => return Err(format!("cannot create the lock {}: {e}", path.display())),
            }
        }
    }
}

impl Drop for InstallLock {
    fn drop(&mut self) {
        let _ = fs::remove_dir(&self.0);
    }
}

//! Exit codes shared by every subcommand: 0 success, 1 a check failed (the
//! details were printed), 2 the input was unusable (one readable line on
//! stderr, never a backtrace).

use std::process::ExitCode;

/// How a subcommand ended.
pub enum Outcome {
    Success,
    /// A check failed; the command already printed why.
    CheckFailed,
}

/// Maps an outcome (or an unusable-input error) to the process exit code.
pub fn report(outcome: anyhow::Result<Outcome>) -> ExitCode {
    match outcome {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::CheckFailed) => ExitCode::from(1),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

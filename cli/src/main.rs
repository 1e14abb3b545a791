//! `delego`: the command-line tool. Each subcommand lives in its own module;
//! this file only parses arguments and maps outcomes to exit codes.

mod conformance;
mod exit;
mod hash;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// delego — decides each agent action before any credential is used, and
/// proves every decision in a signed, verifiable ledger.
#[derive(Parser)]
#[command(name = "delego", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Hash actions (JSON lines of {instruction, method, url, params}) from
    /// FILE or stdin: one JSON line of derived values per action.
    Hash {
        /// Input file; stdin when omitted or "-".
        file: Option<PathBuf>,
    },
    /// Verify a receipt ledger (reference JSONL) offline with only the public key.
    Verify(verify::VerifyArgs),
    /// Run the delego Conformance Test Kit vectors and print a table.
    Conformance,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Hash { file } => hash::run(file.as_deref()),
        Command::Verify(args) => verify::run(&args),
        Command::Conformance => conformance::run(),
    };
    exit::report(outcome)
}

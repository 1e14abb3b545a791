//! `delego`: the command-line tool. Each subcommand lives in its own module;
//! this file only parses arguments and maps outcomes to exit codes.

mod agent;
mod audit;
mod audit_prove;
mod client;
mod conformance;
mod daemon_socket;
mod demo;
mod exit;
mod hash;
mod home;
mod human;
mod keys_cmd;
mod ledger;
mod log_cmd;
mod mcp;
mod output;
mod policy_cmd;
mod routed;
mod serve;
mod tlog;
mod trust;
mod verify;
mod witness_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::home::Home;

/// delego — decides each agent action before any credential is used, and
/// proves every decision in a signed, verifiable ledger.
#[derive(Parser)]
#[command(name = "delego", version, about)]
struct Cli {
    /// Delego home dir (default: $DELEGO_HOME, ./.claude/.delego if it exists, or ~/.delego)
    #[arg(long, global = true, value_name = "DIR")]
    home: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the home dir, generate signing keys, install an example policy.
    Init,
    /// Print the resolved delego home (where state + policy live).
    Home,
    /// Show the loaded policy summary, or check, explain and test policies.
    Policy {
        #[command(subcommand)]
        command: Option<PolicyCommand>,
    },
    /// List actions awaiting human approval.
    Pending,
    /// Approve a pending action.
    Approve(DecideArgs),
    /// Deny a pending action.
    Deny(DecideArgs),
    /// Show the most recent audit receipts.
    Log {
        /// Number of receipts to show.
        #[arg(short = 'n', long = "lines", default_value_t = 20)]
        lines: usize,
        /// Print receipts as the reference's JSON lines.
        #[arg(long)]
        json: bool,
    },
    /// Verify the audit chain (hashes, linkage, signatures) with only the public key.
    Verify(verify::VerifyArgs),
    /// Run the firewall service (HTTP API) for this home.
    Serve {
        /// Address to listen on (port 0 picks a free port; the first line
        /// printed is `listening on ADDR`).
        #[arg(long, default_value = "127.0.0.1:7300")]
        listen: String,
    },
    /// Serve the agent tools over MCP on stdio (through the running `delego
    /// serve` of this home when there is one).
    Mcp,
    /// Manage the HTTP API's bearer keys.
    Keys {
        #[command(subcommand)]
        command: keys_cmd::KeysCommand,
    },
    /// Auditor tools: offline proofs that receipts are in the witnessed log.
    Audit {
        #[command(subcommand)]
        command: audit::AuditCommand,
    },
    /// Write the ledger in the reference's JSONL format.
    Export {
        /// Output file (default: stdout).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Migrate a reference home (ledger, approvals, keys, policy), re-verifying its chain first.
    Import {
        #[arg(long, value_name = "DIR")]
        from: PathBuf,
    },
    /// Decide a proposed action and print the decision as JSON.
    Propose {
        /// The action as JSON ({instruction, method, url, params}), or @FILE.
        #[arg(long, value_name = "JSON")]
        action: String,
        /// Mint a §9 authorization token for this audience on allow.
        #[arg(long, value_name = "AUDIENCE")]
        mint_token: Option<String>,
    },
    /// Present an action to release an approval and print the decision as JSON.
    Resolve {
        approval_id: String,
        #[arg(long, value_name = "JSON")]
        action: String,
        #[arg(long, value_name = "AUDIENCE")]
        mint_token: Option<String>,
    },
    /// Hash actions (JSON lines of {instruction, method, url, params}) from
    /// FILE or stdin: one JSON line of derived values per action.
    Hash {
        /// Input file; stdin when omitted or "-".
        file: Option<PathBuf>,
    },
    /// Run the delego Conformance Test Kit vectors and print a table.
    Conformance,
    /// The whole story on loopback in a temporary home: decisions,
    /// approvals, witnesses, offline proofs and a caught tampering.
    Demo,
    /// Run a transparency-log witness (c2sp.org/tlog-witness); --home is
    /// the witness home (default: $DELEGO_WITNESS_HOME or ~/.delego-witness).
    Witness {
        #[command(subcommand)]
        command: witness_cmd::WitnessCommand,
    },
    /// Run a standalone transparency log server for receipts.
    LogServer(log_cmd::LogServerArgs),
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Validate a policy file; list every problem.
    Check { file: PathBuf },
    /// Show which rule matches an action and why, with every constraint's result.
    Explain {
        #[arg(long, value_name = "JSON")]
        action: String,
        /// Policy file (default: the home's policy).
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
    },
    /// Run a table of actions with expected outcomes; exit 1 on any mismatch.
    Test {
        file: PathBuf,
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
struct DecideArgs {
    approval_id: String,
    /// Name recorded as approver.
    #[arg(long = "as", default_value = "cli", value_name = "NAME")]
    approver: String,
    /// A note recorded with the decision.
    #[arg(long, value_name = "TEXT")]
    note: Option<String>,
}

fn run(cli: Cli) -> anyhow::Result<exit::Outcome> {
    let home = || Home::resolve(cli.home.as_deref());
    match &cli.command {
        Command::Init => human::init(&home()?),
        Command::Home => human::show_home(&home()?),
        Command::Policy { command: None } => human::show_policy(&home()?),
        Command::Policy {
            command: Some(PolicyCommand::Check { file }),
        } => policy_cmd::check(file),
        Command::Policy {
            command: Some(PolicyCommand::Explain { action, policy }),
        } => policy_cmd::explain(&home()?, policy.as_deref(), action),
        Command::Policy {
            command: Some(PolicyCommand::Test { file, policy }),
        } => policy_cmd::test(&home()?, policy.as_deref(), file),
        Command::Pending => {
            let home = home()?;
            match client::running_server(&home)? {
                Some(server) => routed::pending(server),
                None => human::pending(&home),
            }
        }
        Command::Approve(args) | Command::Deny(args) => {
            let approve = matches!(&cli.command, Command::Approve(_));
            let home = home()?;
            match client::running_server(&home)? {
                Some(server) => routed::decide(
                    server,
                    &args.approval_id,
                    approve,
                    &args.approver,
                    args.note.as_deref(),
                ),
                None => human::decide(
                    &home,
                    &args.approval_id,
                    approve,
                    &args.approver,
                    args.note.as_deref(),
                ),
            }
        }
        Command::Log { lines, json } => {
            let home = home()?;
            match client::running_server(&home)? {
                Some(server) => routed::log(server, *lines, *json),
                None => human::log(&home, *lines, *json),
            }
        }
        Command::Verify(args) => verify::run(args, &home()?),
        Command::Audit { command } => audit::run(command, home),
        Command::Serve { listen } => serve::run(&home()?, listen),
        Command::Mcp => mcp::run(&home()?),
        Command::Keys { command } => keys_cmd::run(&home()?, command),
        Command::Export { out } => ledger::export(&home()?, out.as_deref()),
        Command::Import { from } => ledger::import(&home()?, from),
        Command::Propose { action, mint_token } => {
            let home = home()?;
            match client::running_server(&home)? {
                Some(server) => routed::propose(server, action, mint_token.as_deref()),
                None => agent::propose(&home, action, mint_token.as_deref()),
            }
        }
        Command::Resolve {
            approval_id,
            action,
            mint_token,
        } => {
            let home = home()?;
            match client::running_server(&home)? {
                Some(server) => routed::resolve(server, approval_id, action, mint_token.as_deref()),
                None => agent::resolve(&home, approval_id, action, mint_token.as_deref()),
            }
        }
        Command::Hash { file } => hash::run(file.as_deref()),
        Command::Conformance => conformance::run(),
        Command::Demo => demo::run_demo(),
        Command::Witness { command } => witness_cmd::run(cli.home.as_deref(), command),
        Command::LogServer(args) => log_cmd::run(args),
    }
}

fn main() -> ExitCode {
    exit::report(run(Cli::parse()))
}

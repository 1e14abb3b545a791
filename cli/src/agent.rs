//! The agent side from a shell: `propose` and `resolve` print the decision
//! as one JSON line with the reference's keys.

use crate::exit::Outcome;
use crate::home::Home;
use crate::output::{decision_line, read_action};

pub fn propose(home: &Home, action: &str, mint_tokens: Option<&str>) -> anyhow::Result<Outcome> {
    let action = read_action(action)?;
    let firewall = home.start(false, mint_tokens)?;
    println!("{}", decision_line(&firewall.propose(action)?));
    Ok(Outcome::Success)
}

pub fn resolve(
    home: &Home,
    approval_id: &str,
    action: &str,
    mint_tokens: Option<&str>,
) -> anyhow::Result<Outcome> {
    let action = read_action(action)?;
    let firewall = home.start(false, mint_tokens)?;
    println!("{}", decision_line(&firewall.resolve(approval_id, action)?));
    Ok(Outcome::Success)
}

//! Trust policies (c2sp.org/tlog-policy): which logs are accepted, which
//! witnesses are known, and the quorum of witnesses whose cosignatures make a
//! checkpoint trustworthy. This file reads and writes the policy file;
//! [`super::quorum`] evaluates it.
//!
//! The file is octets, not text: names, URLs and comments may hold any byte
//! with the high bit set, compared as opaque bytes. Whitespace is only space
//! and tab. A name must be defined on an earlier line than any use of it,
//! which also rules out cycles.

use std::collections::BTreeMap;
use std::fmt;

use super::error::NoteError;
use super::key::{KeyType, VerifierKey};
use super::verify::Verifiers;

/// Largest policy file read.
pub const MAX_POLICY_BYTES: usize = 1 << 20;

/// Most logs, witnesses or groups a policy may define (the spec asks for at
/// least 32 of each).
pub const MAX_POLICY_ENTRIES: usize = 1024;

/// The predefined name for a quorum that requires no cosignature.
const NONE: &[u8] = b"none";

/// A witness or group name: opaque octets, usually UTF-8.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PolicyName(Vec<u8>);

impl PolicyName {
    pub fn new(bytes: impl Into<Vec<u8>>) -> PolicyName {
        PolicyName(bytes.into())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl From<&str> for PolicyName {
    fn from(name: &str) -> PolicyName {
        PolicyName(name.as_bytes().to_vec())
    }
}

impl fmt::Display for PolicyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.0))
    }
}

/// An accepted log. Its key name is the origin of its checkpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyLog {
    pub key: VerifierKey,
    /// Application-specific; opaque octets.
    pub url: Option<Vec<u8>>,
}

/// A known witness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyWitness {
    pub name: PolicyName,
    pub key: VerifierKey,
    /// Conventionally the witness's submission prefix; opaque octets.
    pub url: Option<Vec<u8>>,
}

/// How many of a group's members must have witnessed a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threshold {
    All,
    Any,
    AtLeast(usize),
}

impl Threshold {
    /// The number of members required out of `members`.
    pub fn required(self, members: usize) -> usize {
        match self {
            Threshold::All => members,
            Threshold::Any => 1,
            Threshold::AtLeast(k) => k,
        }
    }
}

/// A member of a group, or the quorum: a witness or an earlier group, by
/// position in the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Member {
    Witness(usize),
    Group(usize),
}

/// A named k-of-n group of witnesses and earlier groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyGroup {
    name: PolicyName,
    threshold: Threshold,
    members: Vec<PolicyName>,
    resolved: Vec<Member>,
}

impl PolicyGroup {
    pub fn name(&self) -> &PolicyName {
        &self.name
    }

    pub fn threshold(&self) -> Threshold {
        self.threshold
    }

    pub fn members(&self) -> &[PolicyName] {
        &self.members
    }

    pub(crate) fn resolved(&self) -> &[Member] {
        &self.resolved
    }
}

/// Which witnesses must have cosigned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Quorum {
    /// `quorum none`: no cosignature required.
    None,
    /// A witness or group.
    Named(PolicyName),
}

/// A parsed, validated trust policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustPolicy {
    logs: Vec<PolicyLog>,
    witnesses: Vec<PolicyWitness>,
    groups: Vec<PolicyGroup>,
    quorum: Quorum,
    quorum_member: Option<Member>,
    names: BTreeMap<PolicyName, Member>,
}

/// What is wrong with one line of a policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyLineError {
    #[error("unknown keyword {0:?}")]
    UnknownKeyword(String),
    #[error("expected {expected}")]
    FieldCount { expected: &'static str },
    #[error("verifier key is not UTF-8")]
    VkeyNotUtf8,
    #[error("bad verifier key: {0}")]
    Vkey(NoteError),
    #[error("a log key must be Ed25519 (0x01), not {0}")]
    LogKeyType(KeyType),
    #[error("a witness key must be an Ed25519 cosignature (0x04) key, not {0}")]
    WitnessKeyType(KeyType),
    #[error("another log already has this public key")]
    DuplicateLog,
    #[error("another witness already has this public key")]
    DuplicateWitness,
    #[error("the name \"none\" is predefined")]
    ReservedName,
    #[error("the name \"{0}\" is already defined")]
    DuplicateName(PolicyName),
    #[error("\"{0}\" is not defined on an earlier line")]
    Undefined(PolicyName),
    #[error("group \"{0}\" lists itself as a member")]
    SelfMember(PolicyName),
    #[error("\"none\" cannot be a group member")]
    NoneMember,
    #[error("\"{0}\" is listed twice in the group")]
    DuplicateMember(PolicyName),
    #[error("threshold is not \"all\", \"any\" or a decimal without leading zeroes")]
    BadThreshold,
    #[error("threshold {threshold} is not between 1 and the group's {members} members")]
    ThresholdOutOfRange { threshold: String, members: usize },
    #[error("a quorum is already defined")]
    DuplicateQuorum,
    #[error("more than {MAX_POLICY_ENTRIES} {0}")]
    TooMany(&'static str),
}

/// A policy file that was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("policy file is larger than {MAX_POLICY_BYTES} bytes")]
    TooLarge,
    #[error("policy line {line}: byte 0x{byte:02x} is not allowed (only tab, newline, 0x20-0x7e and 0x80-0xff)")]
    BadOctet { line: usize, byte: u8 },
    #[error("policy file does not end with a newline")]
    MissingFinalNewline,
    #[error("policy line {line}: {error}")]
    Line { line: usize, error: PolicyLineError },
    #[error("policy defines no quorum")]
    MissingQuorum,
    #[error("policy keys are ambiguous: {0}")]
    AmbiguousKeys(NoteError),
}

fn allowed_octet(byte: u8) -> bool {
    matches!(byte, b'\t' | b'\n' | 0x20..=0x7e | 0x80..=0xff)
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn parse_vkey(field: &[u8]) -> Result<VerifierKey, PolicyLineError> {
    let text = std::str::from_utf8(field).map_err(|_| PolicyLineError::VkeyNotUtf8)?;
    VerifierKey::parse(text).map_err(PolicyLineError::Vkey)
}

fn parse_threshold(field: &[u8], members: usize) -> Result<Threshold, PolicyLineError> {
    let threshold = match field {
        b"all" => return Ok(Threshold::All),
        b"any" => return Ok(Threshold::Any),
        _ => std::str::from_utf8(field)
            .ok()
            .and_then(super::lines::parse_decimal)
            .ok_or(PolicyLineError::BadThreshold)?,
    };
    match usize::try_from(threshold) {
        Ok(k) if (1..=members).contains(&k) => Ok(Threshold::AtLeast(k)),
        _ => Err(PolicyLineError::ThresholdOutOfRange {
            threshold: threshold.to_string(),
            members,
        }),
    }
}

/// Accumulates definitions line by line.
#[derive(Default)]
struct Builder {
    logs: Vec<PolicyLog>,
    witnesses: Vec<PolicyWitness>,
    groups: Vec<PolicyGroup>,
    quorum: Option<(Quorum, Option<Member>)>,
    names: BTreeMap<PolicyName, Member>,
}

impl Builder {
    fn check_new_name(&self, name: &[u8]) -> Result<PolicyName, PolicyLineError> {
        if name == NONE {
            return Err(PolicyLineError::ReservedName);
        }
        let name = PolicyName::new(name);
        if self.names.contains_key(&name) {
            return Err(PolicyLineError::DuplicateName(name));
        }
        Ok(name)
    }

    fn log(&mut self, fields: &[&[u8]]) -> Result<(), PolicyLineError> {
        let (vkey, url) = match fields {
            [vkey] => (vkey, None),
            [vkey, url] => (vkey, Some(url.to_vec())),
            _ => {
                return Err(PolicyLineError::FieldCount {
                    expected: "log <vkey> [<url>]",
                })
            }
        };
        let key = parse_vkey(vkey)?;
        if key.key_type() != KeyType::Ed25519 {
            return Err(PolicyLineError::LogKeyType(key.key_type()));
        }
        if self
            .logs
            .iter()
            .any(|l| l.key.public_key() == key.public_key())
        {
            return Err(PolicyLineError::DuplicateLog);
        }
        if self.logs.len() == MAX_POLICY_ENTRIES {
            return Err(PolicyLineError::TooMany("logs"));
        }
        self.logs.push(PolicyLog { key, url });
        Ok(())
    }

    fn witness(&mut self, fields: &[&[u8]]) -> Result<(), PolicyLineError> {
        let (name, vkey, url) = match fields {
            [name, vkey] => (name, vkey, None),
            [name, vkey, url] => (name, vkey, Some(url.to_vec())),
            _ => {
                return Err(PolicyLineError::FieldCount {
                    expected: "witness <name> <vkey> [<url>]",
                })
            }
        };
        let name = self.check_new_name(name)?;
        let key = parse_vkey(vkey)?;
        if key.key_type() != KeyType::CosignatureV1 {
            return Err(PolicyLineError::WitnessKeyType(key.key_type()));
        }
        if self
            .witnesses
            .iter()
            .any(|w| w.key.public_key() == key.public_key())
        {
            return Err(PolicyLineError::DuplicateWitness);
        }
        if self.witnesses.len() == MAX_POLICY_ENTRIES {
            return Err(PolicyLineError::TooMany("witnesses"));
        }
        self.names
            .insert(name.clone(), Member::Witness(self.witnesses.len()));
        self.witnesses.push(PolicyWitness { name, key, url });
        Ok(())
    }

    fn group(&mut self, fields: &[&[u8]]) -> Result<(), PolicyLineError> {
        let [name, threshold, members @ ..] = fields else {
            return Err(PolicyLineError::FieldCount {
                expected: "group <name> <all|any|k> <name>...",
            });
        };
        if members.is_empty() {
            return Err(PolicyLineError::FieldCount {
                expected: "group <name> <all|any|k> <name>...",
            });
        }
        let name = self.check_new_name(name)?;
        let mut names = Vec::with_capacity(members.len());
        let mut resolved = Vec::with_capacity(members.len());
        for &member in members {
            if member == NONE {
                return Err(PolicyLineError::NoneMember);
            }
            let member = PolicyName::new(member);
            if member == name {
                return Err(PolicyLineError::SelfMember(member));
            }
            let Some(&reference) = self.names.get(&member) else {
                return Err(PolicyLineError::Undefined(member));
            };
            if names.contains(&member) {
                return Err(PolicyLineError::DuplicateMember(member));
            }
            names.push(member);
            resolved.push(reference);
        }
        let threshold = parse_threshold(threshold, members.len())?;
        if self.groups.len() == MAX_POLICY_ENTRIES {
            return Err(PolicyLineError::TooMany("groups"));
        }
        self.names
            .insert(name.clone(), Member::Group(self.groups.len()));
        self.groups.push(PolicyGroup {
            name,
            threshold,
            members: names,
            resolved,
        });
        Ok(())
    }

    fn quorum(&mut self, fields: &[&[u8]]) -> Result<(), PolicyLineError> {
        let [name] = fields else {
            return Err(PolicyLineError::FieldCount {
                expected: "quorum <name>",
            });
        };
        if self.quorum.is_some() {
            return Err(PolicyLineError::DuplicateQuorum);
        }
        if *name == NONE {
            self.quorum = Some((Quorum::None, None));
            return Ok(());
        }
        let name = PolicyName::new(*name);
        let Some(&reference) = self.names.get(&name) else {
            return Err(PolicyLineError::Undefined(name));
        };
        self.quorum = Some((Quorum::Named(name), Some(reference)));
        Ok(())
    }

    fn line(&mut self, line: &[u8]) -> Result<(), PolicyLineError> {
        let fields: Vec<&[u8]> = line
            .split(|&b| b == b' ' || b == b'\t')
            .filter(|field| !field.is_empty())
            .collect();
        let Some((&keyword, rest)) = fields.split_first() else {
            return Ok(()); // blank line
        };
        if keyword.starts_with(b"#") {
            return Ok(()); // comment line
        }
        match keyword {
            b"log" => self.log(rest),
            b"witness" => self.witness(rest),
            b"group" => self.group(rest),
            b"quorum" => self.quorum(rest),
            other => Err(PolicyLineError::UnknownKeyword(lossy(other))),
        }
    }
}

impl TrustPolicy {
    /// Parses and validates a policy file.
    pub fn parse(file: &[u8]) -> Result<TrustPolicy, PolicyError> {
        if file.len() > MAX_POLICY_BYTES {
            return Err(PolicyError::TooLarge);
        }
        if let Some(at) = file.iter().position(|&b| !allowed_octet(b)) {
            return Err(PolicyError::BadOctet {
                line: file[..at].iter().filter(|&&b| b == b'\n').count() + 1,
                byte: file[at],
            });
        }
        if !file.is_empty() && !file.ends_with(b"\n") {
            return Err(PolicyError::MissingFinalNewline);
        }
        let mut builder = Builder::default();
        for (index, line) in file.split_inclusive(|&b| b == b'\n').enumerate() {
            let line = line.strip_suffix(b"\n").unwrap_or(line);
            builder.line(line).map_err(|error| PolicyError::Line {
                line: index + 1,
                error,
            })?;
        }
        let (quorum, quorum_member) = builder.quorum.ok_or(PolicyError::MissingQuorum)?;
        let policy = TrustPolicy {
            logs: builder.logs,
            witnesses: builder.witnesses,
            groups: builder.groups,
            quorum,
            quorum_member,
            names: builder.names,
        };
        // A signature line names a key by name and ID only, so no two keys in
        // one policy may share both.
        policy.verifiers().map_err(PolicyError::AmbiguousKeys)?;
        Ok(policy)
    }

    /// Every log and witness key, for verifying a note in one pass.
    pub fn verifiers(&self) -> Result<Verifiers, NoteError> {
        Verifiers::new(
            self.logs
                .iter()
                .map(|l| l.key.clone())
                .chain(self.witnesses.iter().map(|w| w.key.clone())),
        )
    }

    /// The policy in canonical form: logs, witnesses, groups in their order,
    /// then the quorum. Parsing it gives back an equal policy.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for log in &self.logs {
            out.extend_from_slice(format!("log {}", log.key).as_bytes());
            if let Some(url) = &log.url {
                out.push(b' ');
                out.extend_from_slice(url);
            }
            out.push(b'\n');
        }
        for witness in &self.witnesses {
            out.extend_from_slice(b"witness ");
            out.extend_from_slice(witness.name.as_bytes());
            out.extend_from_slice(format!(" {}", witness.key).as_bytes());
            if let Some(url) = &witness.url {
                out.push(b' ');
                out.extend_from_slice(url);
            }
            out.push(b'\n');
        }
        for group in &self.groups {
            out.extend_from_slice(b"group ");
            out.extend_from_slice(group.name.as_bytes());
            let threshold = match group.threshold {
                Threshold::All => "all".to_owned(),
                Threshold::Any => "any".to_owned(),
                Threshold::AtLeast(k) => k.to_string(),
            };
            out.extend_from_slice(format!(" {threshold}").as_bytes());
            for member in &group.members {
                out.push(b' ');
                out.extend_from_slice(member.as_bytes());
            }
            out.push(b'\n');
        }
        out.extend_from_slice(b"quorum ");
        match &self.quorum {
            Quorum::None => out.extend_from_slice(NONE),
            Quorum::Named(name) => out.extend_from_slice(name.as_bytes()),
        }
        out.push(b'\n');
        out
    }

    pub fn logs(&self) -> &[PolicyLog] {
        &self.logs
    }

    pub fn witnesses(&self) -> &[PolicyWitness] {
        &self.witnesses
    }

    pub fn groups(&self) -> &[PolicyGroup] {
        &self.groups
    }

    pub fn quorum(&self) -> &Quorum {
        &self.quorum
    }

    pub(crate) fn quorum_member(&self) -> Option<Member> {
        self.quorum_member
    }

    /// The witness defined under `name`, if `name` is a witness.
    pub fn witness(&self, name: &PolicyName) -> Option<&PolicyWitness> {
        match self.names.get(name)? {
            Member::Witness(i) => self.witnesses.get(*i),
            Member::Group(_) => None,
        }
    }
}

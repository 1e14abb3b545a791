//! Loading a policy document from text, then the fail-closed validation of
//! `delego-spec`. Reading the file is the caller's job.
//!
//! JSON policies go through the same YAML reader: the reference reads every
//! policy with PyYAML, so a JSON number such as `1e3` is the string "1e3" to
//! it. Reading JSON as JSON would decide differently; reading it as YAML
//! either agrees with the reference or refuses the ambiguity.

use delego_spec::json::Value;
use delego_spec::policy::{Policy, PolicyError};

use crate::evaluate::CompiledPolicy;
use crate::yaml::{parse_yaml, YamlError};

/// Why a policy could not be loaded. Every variant means: decide nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyLoadError {
    #[error("policy at {source_name} is not valid YAML (or JSON): {error}")]
    Yaml {
        source_name: String,
        error: YamlError,
    },
    #[error(transparent)]
    Invalid(#[from] PolicyError),
}

/// Parses (YAML, of which JSON is a subset) and validates a policy.
pub fn load_policy(text: &str, source_name: &str) -> Result<CompiledPolicy, PolicyLoadError> {
    let document: Value = parse_yaml(text).map_err(|error| PolicyLoadError::Yaml {
        source_name: source_name.to_owned(),
        error,
    })?;
    Ok(CompiledPolicy::new(Policy::from_value(
        &document,
        source_name,
    )?))
}

//! Loading a policy document from text: YAML (as the reference writes it) or
//! JSON, then the fail-closed validation of `delego-spec`. Reading the file
//! is the caller's job.

use delego_spec::json::{parse, ParseError, Value};
use delego_spec::policy::{Policy, PolicyError};

use crate::evaluate::CompiledPolicy;
use crate::yaml::{parse_yaml, YamlError};

/// Why a policy could not be loaded. Every variant means: decide nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyLoadError {
    #[error("policy at {source_name} is not valid YAML: {error}")]
    Yaml {
        source_name: String,
        error: YamlError,
    },
    #[error("policy at {source_name} is not valid JSON: {error}")]
    Json {
        source_name: String,
        error: ParseError,
    },
    #[error(transparent)]
    Invalid(#[from] PolicyError),
}

/// Parses and validates a policy. A document whose first non-blank character
/// is `{` is read as JSON, anything else as YAML.
pub fn load_policy(text: &str, source_name: &str) -> Result<CompiledPolicy, PolicyLoadError> {
    let document: Value = if text.trim_start().starts_with('{') {
        parse(text).map_err(|error| PolicyLoadError::Json {
            source_name: source_name.to_owned(),
            error,
        })?
    } else {
        parse_yaml(text).map_err(|error| PolicyLoadError::Yaml {
            source_name: source_name.to_owned(),
            error,
        })?
    };
    Ok(CompiledPolicy::new(Policy::from_value(
        &document,
        source_name,
    )?))
}

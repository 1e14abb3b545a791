//! `delego hash`: derives the hashed values of actions so anyone can compare
//! our hashing with another implementation's, line for line.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;

use anyhow::Context as _;
use delego_spec::json::{parse, to_canonical_string, Map, Value};
use delego_spec::ProposedAction;

use crate::exit::Outcome;

/// One output line for one input line (blank lines produce nothing).
fn hash_line(line: &str) -> Result<Value, String> {
    let value = parse(line).map_err(|e| format!("not JSON: {e}"))?;
    let action = ProposedAction::from_value(&value).map_err(|e| e.to_string())?;
    let id = action.identity().map_err(|e| format!("field 'url': {e}"))?;
    let mut out = Map::new();
    out.insert("intent_hash".into(), id.intent_hash.into());
    out.insert("action_fingerprint".into(), id.action_fingerprint.into());
    out.insert(
        "fingerprint_canonical_json".into(),
        id.fingerprint_canonical_json.into(),
    );
    out.insert(
        "intent_canonical_json".into(),
        id.intent_canonical_json.into(),
    );
    out.insert("summary".into(), id.summary.into());
    Ok(Value::Object(out))
}

pub fn run(file: Option<&Path>) -> anyhow::Result<Outcome> {
    let reader: Box<dyn BufRead> = match file {
        None => Box::new(BufReader::new(io::stdin().lock())),
        Some(path) if path == Path::new("-") => Box::new(BufReader::new(io::stdin().lock())),
        Some(path) => Box::new(BufReader::new(
            File::open(path).with_context(|| format!("cannot read {}", path.display()))?,
        )),
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut failed = false;
    let source = file.map_or_else(|| "standard input".to_owned(), |p| p.display().to_string());
    for (index, line) in reader.split(b'\n').enumerate() {
        let line = line.with_context(|| format!("cannot read {source}"))?;
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches('\r');
        if text.trim().is_empty() {
            continue;
        }
        let result = match std::str::from_utf8(&line) {
            Ok(_) => hash_line(text),
            Err(_) => Err("not valid UTF-8".to_owned()),
        };
        let output = result.unwrap_or_else(|message| {
            failed = true;
            let mut error = Map::new();
            error.insert(
                "error".into(),
                format!("line {}: {message}", index + 1).into(),
            );
            Value::Object(error)
        });
        writeln!(out, "{}", to_canonical_string(&output)).context("cannot write output")?;
    }
    out.flush().context("cannot write output")?;
    Ok(if failed {
        Outcome::CheckFailed
    } else {
        Outcome::Success
    })
}

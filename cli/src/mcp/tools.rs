//! The five tools as clients list them: names, input schemas and
//! annotations as the reference's (the descriptions are ours). A list only:
//! reading a call is `args`, answering it `results`.

use std::sync::Arc;

use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use serde_json::json;

pub const PROPOSE: &str = "delego_propose_action";
pub const RESOLVE: &str = "delego_resolve_action";
pub const AUDIT_TAIL: &str = "delego_audit_tail";
pub const PENDING: &str = "delego_pending";
pub const SHOW_POLICY: &str = "delego_show_policy";

/// `delego_audit_tail`'s bounds and default, as the reference's.
pub const LINES_DEFAULT: u64 = 20;
pub const LINES_MAX: u64 = 200;

/// The tools, in the reference's order.
pub fn catalogue() -> Vec<Tool> {
    let action_fields = json!({
        "instruction": {
            "type": "string", "minLength": 1,
            "description": "The human's own instruction that this action carries out, word for word (for example 'order 2 boxes of paper'). It is hashed into the receipt and shown to the approver."
        },
        "method": {
            "type": "string", "minLength": 1,
            "description": "The HTTP method, such as GET or POST."
        },
        "url": {
            "type": "string",
            "description": "The absolute URL the action targets, such as https://api.example.com/orders."
        },
        "params": {
            "type": "object", "additionalProperties": true,
            "description": "The request fields the policy decides on (for example {\"amount\": 2400, \"currency\": \"USD\"})."
        }
    });
    let mut resolve_fields = action_fields.clone();
    if let Some(fields) = resolve_fields.as_object_mut() {
        fields.insert(
            "approval_id".into(),
            json!({
                "type": "string", "minLength": 1,
                "description": "The approval_id that delego_propose_action returned."
            }),
        );
        for (name, text) in [
            ("instruction", "The instruction of the original proposal, unchanged."),
            ("method", "The method of the original proposal, unchanged."),
            ("url", "The URL of the original proposal, unchanged."),
            ("params", "The params of the original proposal, unchanged: any difference is refused as a different action."),
        ] {
            if let Some(field) = fields.get_mut(name).and_then(|f| f.as_object_mut()) {
                field.insert("description".into(), text.into());
            }
        }
    }
    let dict_output = json!({"type": "object", "additionalProperties": true});
    let list_output = json!({
        "type": "object",
        "properties": {"result": {"anyOf": [
            {"type": "array", "items": {"type": "object", "additionalProperties": true}},
            {"type": "object", "additionalProperties": true}
        ]}},
        "required": ["result"]
    });
    vec![
        tool(
            PROPOSE,
            "Ask the delego firewall to authorise an action before any service is touched. The policy decides, deterministically: 'allow' (authorised, and carried out by the configured broker), 'deny' (refused; see 'reasons'), or 'needs_approval' (a human must decide first; an 'approval_id' comes back). Approving is not possible over MCP: the human decides elsewhere (`delego approve ID`), after which delego_resolve_action with the same action completes it. Returns the decision: outcome, rule, reasons, intent_hash, action_fingerprint, approval_id, executed, result, token — or {\"error\": \"setup_required\", …} when the delego home is not initialised.",
            params_schema(&action_fields, &["instruction", "method", "url"]),
            dict_output.clone(),
            ("Propose an action to the firewall", false, true, false, true),
        ),
        tool(
            RESOLVE,
            "Complete an action that came back 'needs_approval'. Send exactly the action that was proposed: an approval is bound to its fingerprint and instruction, and anything else is denied as a possibly substituted action (the reason names what the approval covers). Returns a decision shaped like delego_propose_action's: 'allow' once a human approved (carried out now, once only), 'deny' if the human denied or the action differs, 'needs_approval' while nobody has decided.",
            params_schema(&resolve_fields, &["approval_id", "instruction", "method", "url"]),
            dict_output.clone(),
            ("Complete an approved action", false, true, false, true),
        ),
        tool(
            AUDIT_TAIL,
            "Read the newest signed receipts of the audit ledger, oldest first. Each has seq, ts, phase, outcome, rule, reasons, intent_hash, action_fingerprint, action_summary, approval_id and the chain fields prev_hash, entry_hash and signature. Returned as {\"result\": [...]}, or {\"result\": {\"error\": \"setup_required\", …}}.",
            params_schema(
                &json!({"lines": {
                    "type": "integer", "minimum": 1, "maximum": LINES_MAX, "default": LINES_DEFAULT,
                    "description": "How many of the newest receipts to return."
                }}),
                &[],
            ),
            list_output.clone(),
            ("Read the newest audit receipts", true, false, true, false),
        ),
        tool(
            PENDING,
            "List the actions parked for a human decision (read-only). Deciding is deliberately impossible over MCP: whoever proposes an action must never be able to approve it; a human runs `delego approve ID` or `delego deny ID`. To learn how an approval ended, call delego_resolve_action with the same action. Each entry has id, summary, instruction, rule, action_fingerprint and created_at; returned as {\"result\": [...]}, or {\"result\": {\"error\": \"setup_required\", …}}.",
            no_arguments(),
            list_output,
            ("List actions awaiting a human", true, false, true, false),
        ),
        tool(
            SHOW_POLICY,
            "Show the policy in force: version, default, forbidden (each name and match) and rules (each name, decision, match and constraints) — or {\"error\": \"setup_required\", …} when the delego home is not initialised.",
            no_arguments(),
            dict_output,
            ("Show the policy in force", true, false, true, false),
        ),
    ]
}

/// `(title, read-only, destructive, idempotent, open world)`.
type Hints = (&'static str, bool, bool, bool, bool);

fn tool(
    name: &'static str,
    description: &'static str,
    input: serde_json::Value,
    output: serde_json::Value,
    hints: Hints,
) -> Tool {
    let (title, read_only, destructive, idempotent, open_world) = hints;
    Tool::new(name, description, Arc::new(object(input)))
        .with_raw_output_schema(Arc::new(object(output)))
        .with_annotations(
            ToolAnnotations::with_title(title)
                .read_only(read_only)
                .destructive(destructive)
                .idempotent(idempotent)
                .open_world(open_world),
        )
}

fn object(value: serde_json::Value) -> JsonObject {
    match value {
        serde_json::Value::Object(map) => map,
        _ => JsonObject::new(),
    }
}

/// `{"params": {<fields>}}`, both levels closed to unknown fields.
fn params_schema(fields: &serde_json::Value, required: &[&str]) -> serde_json::Value {
    let mut params = json!({"type": "object", "properties": fields, "additionalProperties": false});
    if !required.is_empty() {
        params["required"] = json!(required);
    }
    json!({
        "type": "object",
        "properties": {"params": params},
        "required": ["params"],
        "additionalProperties": false
    })
}

fn no_arguments() -> serde_json::Value {
    json!({"type": "object", "properties": {}, "additionalProperties": false})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_tool_decides_and_the_hints_match_the_reference() {
        let tools = catalogue();
        let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
        assert_eq!(names, [PROPOSE, RESOLVE, AUDIT_TAIL, PENDING, SHOW_POLICY]);
        for tool in &tools {
            let hints = tool.annotations.clone().unwrap();
            let writes = matches!(tool.name.as_ref(), PROPOSE | RESOLVE);
            assert_eq!(hints.read_only_hint, Some(!writes));
            assert_eq!(hints.destructive_hint, Some(writes));
            assert_eq!(hints.idempotent_hint, Some(!writes));
            assert_eq!(hints.open_world_hint, Some(writes));
            assert!(tool.output_schema.is_some());
        }
    }
}

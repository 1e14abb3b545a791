//! `delego demo`, the README's first command, run as a user runs it: it
//! must tell the whole story with every step as expected, on loopback only,
//! and leave no process or file behind.

use delego_e2e::Delego;

#[test]
fn the_demo_tells_the_whole_story_and_every_step_holds() {
    let out = Delego::new()
        .arg("demo")
        .timeout(std::time::Duration::from_secs(120))
        .run();
    assert_eq!(out.code, 0, "{out}");
    for chapter in [
        "1. An agent reads its own account: allowed",
        "2. A prompt injection asks to share the account: forbidden",
        "3. An order over the policy's cap: denied",
        "4. An order within the cap is parked for a human",
        "5. The confused deputy",
        "6. Every decision is a receipt in a Merkle log that both witnesses cosign",
        "7. An auditor proves a receipt offline",
        "8. The host's owner erases the forbidden attempt and re-signs the ledger",
        "Run it for real:",
    ] {
        assert!(out.stdout.contains(chapter), "missing {chapter:?}:\n{out}");
    }
    assert!(out.stdout.contains("VERIFIED: receipt"), "{out}");
    assert!(out.stdout.contains("CHECKPOINT MISMATCH"), "{out}");
    assert!(!out.stdout.contains('✘'), "{out}");
    assert_eq!(out.stdout.matches('✔').count(), 12, "{out}");
    // Not a terminal: no colour codes.
    assert!(!out.stdout.contains('\u{1b}'), "{out}");
    // Every server the demo started is on loopback.
    for line in out.stdout.lines().filter(|l| l.contains("listening at")) {
        assert!(line.contains("http://127.0.0.1:"), "{line}");
    }
}

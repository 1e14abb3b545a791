// The approval inbox: sign in with an approver key (kept in sessionStorage
// only), list pending approvals live from the server's event stream, and
// approve or deny with a note. All data is rendered with textContent, never
// as HTML: instructions and params come from agents.
"use strict";
const $ = (id) => document.getElementById(id);
let key = sessionStorage.getItem("delego-key") || "";
let stream = null;
let renderedQueue = null;

function authHeaders(json) {
  const h = { Authorization: "Bearer " + key };
  if (json) h["Content-Type"] = "application/json";
  return h;
}

async function api(path, options) {
  const response = await fetch(path, options);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || response.status);
  return body;
}

function timeLeft(record) {
  if (record.expires_micros === null || record.expires_micros === undefined) return "no expiry";
  const ms = record.expires_micros / 1000 - Date.now();
  if (ms <= 0) return "expired";
  const minutes = Math.floor(ms / 60000), seconds = Math.floor((ms % 60000) / 1000);
  return minutes + " min " + seconds + " s";
}

function card(record, pending) {
  const node = $("card").content.firstElementChild.cloneNode(true);
  node.dataset.id = record.id;
  node.querySelector(".instruction").textContent = record.instruction || "(no instruction)";
  node.querySelector(".summary").textContent = record.summary;
  node.querySelector(".rule").textContent = record.rule || "—";
  node.querySelector(".reason").textContent = record.reason || "—";
  node.querySelector(".created").textContent = record.created_at;
  node.querySelector(".expiry").textContent = timeLeft(record);
  node.querySelector(".quorum").textContent =
    (record.approvals || []).length + " of " + (record.required_approvers || 1);
  let status = record.status;
  if (record.approver) status += " by " + record.approver;
  if (record.decision_note) status += " — " + record.decision_note;
  node.querySelector(".status").textContent = status;
  const receipts = node.querySelector(".receipts");
  if (pending || !record.receipts) {
    receipts.remove();
    node.querySelector(".receipts-label").remove();
  } else {
    receipts.textContent = record.receipts.length === 0 ? "—" : record.receipts
      .map((r) => "#" + r.seq + " " + r.phase + "/" + r.outcome + " " + r.entry_hash.slice(0, 16) + "…")
      .join(", ");
  }
  const decide = node.querySelector(".decide");
  if (!pending) { decide.remove(); return node; }
  const note = decide.querySelector(".note");
  note.setAttribute("aria-label", "Note for " + record.id);
  for (const verb of ["approve", "deny"]) {
    const button = decide.querySelector("." + verb);
    button.setAttribute("aria-label", verb + " " + record.summary);
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await api("/v1/approvals/" + encodeURIComponent(record.id) + "/" + verb, {
          method: "POST", headers: authHeaders(true),
          body: JSON.stringify(note.value ? { note: note.value } : {}),
        });
        $("live").textContent = record.id + ": " + verb + "d";
        await refresh();
      } catch (e) {
        $("live").textContent = record.id + ": " + e.message;
        button.disabled = false;
      }
    });
  }
  return node;
}

async function refresh() {
  const [pending, history] = await Promise.all([
    api("/v1/approvals", { headers: authHeaders(false) }),
    api("/v1/approvals/history", { headers: authHeaders(false) }),
  ]);
  const live = pending.approvals.filter((r) => r.status === "pending");
  // Re-render the queue only when it changed: a re-render must never take
  // a half-typed note or the focus from under the approver.
  const signature = JSON.stringify(live.map((r) => [r.id, r.status, (r.approvals || []).length]));
  if (signature !== renderedQueue) {
    const notes = {};
    for (const node of $("pending").children) notes[node.dataset.id] = node.querySelector(".note").value;
    $("pending").replaceChildren(...live.map((r) => {
      const node = card(r, true);
      if (notes[r.id]) node.querySelector(".note").value = notes[r.id];
      return node;
    }));
    renderedQueue = signature;
  }
  $("history").replaceChildren(...history.approvals.map((r) => card(r, false)));
  $("count").textContent = "(" + live.length + ")";
}

// Server-sent events over fetch (EventSource cannot send a bearer key).
async function listen() {
  if (stream) stream.abort();
  stream = new AbortController();
  try {
    const response = await fetch("/v1/approvals/events", { headers: authHeaders(false), signal: stream.signal });
    if (!response.ok) throw new Error(response.status);
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (/^event: changed$/m.test(event)) await refresh();
      }
    }
  } catch (e) {
    if (e.name === "AbortError") return;
  }
  setTimeout(listen, 1000);
}

async function signIn(candidate) {
  key = candidate;
  try {
    await refresh();
  } catch (e) {
    $("signin-error").textContent = "Sign-in failed: " + e.message;
    key = "";
    sessionStorage.removeItem("delego-key");
    return;
  }
  sessionStorage.setItem("delego-key", key);
  $("signin").hidden = true;
  $("inbox").hidden = false;
  $("signin-error").textContent = "";
  $("who").textContent = "Signed in.";
  $("pending-title").focus();
  listen();
}

$("signin-form").addEventListener("submit", (event) => {
  event.preventDefault();
  signIn($("key").value.trim());
});
$("signout").addEventListener("click", () => {
  sessionStorage.removeItem("delego-key");
  location.reload();
});
// Time left changes without events: re-read the queue now and then.
setInterval(() => {
  if (key && !$("inbox").hidden) refresh().catch(() => {});
}, 15000);
if (key) signIn(key);

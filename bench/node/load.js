// Load generator: N socket.io clients in rooms of R; each sends every I ms for D seconds.
// Prints delivered messages/s and send->deliver latency percentiles as JSON.
// usage: node load.js URL N R I D [authJSONfile]
//
// Copy of ../shared/perf/load.js (same measurement, same output fields) extended for the project's
// own chat:send (with auth.json): after the sending window it waits for the outstanding acks and
// deliveries (up to LOAD_DRAIN_S seconds, default 10), then checks, for every member of every
// conversation, that each acked message (its seq from the ack data) was delivered to it, and that
// the messages it received came in increasing seq order. Extra output fields: ack_failed,
// ack_errors (first messages), order_violations, missing_deliveries, duplicates, acked_by_conv; and
// `delivered` (the count behind delivered_per_s) always. Before the result it prints the lines
// {"phase":"sending"} and {"phase":"stopped"} around the sending window.
const { io } = require("socket.io-client");
const [url, N, R, I, D] = [process.argv[2], +process.argv[3], +process.argv[4], +process.argv[5], +process.argv[6]];
const extraAuth = process.argv[7] ? require(require("path").resolve(process.argv[7])) : null;
const drainS = +(process.env.LOAD_DRAIN_S || 10);
const lat = []; let delivered = 0, sent = 0, acked = 0, ackFailed = 0, measuring = false;
const ackErrors = {};
const ackedSeqs = {}; // conversationId -> [seq]
let orderViolations = 0, duplicates = 0;
const clients = [];
const runId = Date.now().toString(36) + Math.random().toString(36).slice(2, 6); // clientMessageIds unique across runs
function now() { return Number(process.hrtime.bigint() / 1000n) / 1000; } // ms
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function main() {
  for (let i = 0; i < N; i++) {
    const room = "r" + Math.floor(i / R);
    const auth = extraAuth ? extraAuth[i] : { room };
    const c = io(url, { transports: ["websocket"], auth, reconnection: false, forceNew: true });
    const cl = { c, room, auth, last: {}, got: {} };
    c.on("chat:message", (m) => {
      if (measuring) { delivered++; const t = m.t ?? (m.body && +m.body.split("|")[1]); if (t) lat.push(now() - t); }
      if (extraAuth && m && m.seq != null) {
        const conv = m.conversationId;
        const seen = cl.got[conv] || (cl.got[conv] = new Set());
        if (seen.has(m.seq)) duplicates++;
        seen.add(m.seq);
        if (cl.last[conv] != null && m.seq <= cl.last[conv]) orderViolations++;
        cl.last[conv] = m.seq;
      }
    });
    clients.push(cl);
    await new Promise((res, rej) => { c.once("connect", res); c.once("connect_error", rej); });
  }
  await sleep(500);
  measuring = true;
  console.log(JSON.stringify({ phase: "sending" })); // lets a driver read the server's CPU over the window
  const t0 = now();
  const timers = clients.map((cl, i) => setTimeout(() => {
    cl.timer = setInterval(() => {
      sent++;
      const t = now();
      const msg = extraAuth ? { conversationId: cl.auth.conversationId, body: "x|" + t, clientMessageId: runId + ":" + i + ":" + sent } : { room: cl.room, body: "x", t };
      cl.c.emit("chat:send", msg, (ack) => {
        if (!extraAuth || (ack && ack.success)) {
          acked++;
          if (extraAuth) (ackedSeqs[cl.auth.conversationId] ||= []).push(ack.data.seq);
        } else {
          ackFailed++;
          const why = (ack && ack.message) || "no ack";
          ackErrors[why] = (ackErrors[why] || 0) + 1;
        }
      });
    }, I);
  }, Math.random() * I));
  await sleep(D * 1000);
  timers.forEach((t) => clearTimeout(t));
  clients.forEach((cl) => clearInterval(cl.timer));
  const el = (now() - t0) / 1000;
  measuring = false;
  console.log(JSON.stringify({ phase: "stopped" }));
  lat.sort((a, b) => a - b);
  const p = (q) => lat.length ? +lat[Math.min(lat.length - 1, Math.floor(q * lat.length))].toFixed(2) : null;
  const out = { clients: N, room: R, interval_ms: I, seconds: +el.toFixed(1), sent, acked, delivered,
    delivered_per_s: Math.round(delivered / el), sent_per_s: Math.round(sent / el), p50_ms: p(0.5), p99_ms: p(0.99), max_ms: p(1) };
  if (extraAuth) {
    // Drain: every send answered, then every acked message at every member (or the deadline).
    const deadline = now() + drainS * 1000;
    while (acked + ackFailed < sent && now() < deadline) await sleep(50);
    const missingNow = () => {
      let missing = 0;
      for (const cl of clients) {
        const seen = cl.got[cl.auth.conversationId] || new Set();
        for (const s of ackedSeqs[cl.auth.conversationId] || []) if (!seen.has(s)) missing++;
      }
      return missing;
    };
    let missing = missingNow();
    while (missing > 0 && now() < deadline) { await sleep(100); missing = missingNow(); }
    const byConv = {};
    for (const [conv, seqs] of Object.entries(ackedSeqs)) byConv[conv] = seqs.length;
    Object.assign(out, { acked: acked, ack_failed: ackFailed, unanswered: sent - acked - ackFailed, ack_errors: ackErrors,
      order_violations: orderViolations, missing_deliveries: missing, duplicates, acked_by_conv: byConv });
  }
  console.log(JSON.stringify(out));
  clients.forEach((cl) => cl.c.close());
  process.exit(0);
}
main().catch((e) => { console.error("load error", e.message || e); process.exit(1); });

// N subscribers to /sse/ in their own process, so that reading does not compete with posting.
// Kept lean so that it measures the daemon, not itself: it never decodes the payloads, it only finds
// each message's "\nid: N\n" line in the raw bytes (data lines are one-line JSON, so that marker
// starts a message and nothing else), and records when it arrived. Reports on stdin's "report".
import { request } from "node:http";

const [url, countText] = process.argv.slice(2);
const count = Number(countText);
const MARK = Buffer.from("\nid: ");
const received = new Map(); // event id -> receipt times (ms since epoch)
let connected = 0;

function subscribe() {
  let carry = Buffer.alloc(0);
  const req = request(url, { headers: { Accept: "text/event-stream" }, agent: false }, (res) => {
    if (++connected === count) process.stdout.write(`connected ${count}\n`);
    res.on("data", (chunk) => {
      const at = performance.timeOrigin + performance.now();
      // Keep a marker split across two chunks findable.
      const data = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
      let from = 0;
      let keep = Math.max(0, data.length - MARK.length - 16);
      for (;;) {
        const found = data.indexOf(MARK, from);
        if (found === -1) break;
        const end = data.indexOf(10, found + MARK.length);
        if (end === -1) {
          keep = found;
          break;
        }
        const id = Number(data.toString("latin1", found + MARK.length, end));
        let times = received.get(id);
        if (!times) received.set(id, (times = []));
        times.push(at);
        from = end;
        keep = Math.max(keep, end);
      }
      carry = data.subarray(keep);
    });
  });
  req.on("error", (error) => process.stderr.write(`subscriber: ${error.message}\n`));
  req.end();
}

for (let i = 0; i < count; i++) subscribe();

process.stdin.setEncoding("utf8");
process.stdin.on("data", (line) => {
  if (!line.includes("report")) return;
  // Exit only once the (large) report has reached the pipe.
  process.stdout.write(`${JSON.stringify(Object.fromEntries(received))}\n`, () => process.exit(0));
});

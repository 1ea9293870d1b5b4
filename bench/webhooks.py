"""The webhook benchmark's driver (run by bench/webhooks): a receiver that verifies every
delivery with the reference Standard Webhooks library, N publishes in a burst from one editor,
and wrk reading articles by random slug: quiet, during a burst with no subscriber (what the
writes themselves cost readers), and during a burst delivered to the receiver.

Prints: deliveries received, verified, duplicated; time from each publish's request to its
delivery, and from its answer (the write's answer waits for this node's search index, so a
delivery may come first: then it is negative); the read rates; and writes JSON."""
import http.server
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request

from standardwebhooks.webhooks import Webhook

base, token, count, seconds, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
API = f"{base}/api/v1"


def call(method, path, body=None):
    request = urllib.request.Request(
        f"{API}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as reply:
        return json.load(reply)


received = []  # (time, webhook-id, event, verified)
lock = threading.Lock()
verifier = None


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        now = time.monotonic()
        try:
            event = verifier.verify(body, dict(self.headers.items()))
            verified = True
        except Exception:
            event, verified = json.loads(body), False
        with lock:
            received.append((now, self.headers["webhook-id"], event, verified))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=server.serve_forever, daemon=True).start()

# Articles to read: 200 published before the subscription's burst (their events are not
# counted: the receiver is told apart by slug below).
slugs = []
for i in range(200):
    made = call("POST", "/articles", {"title": f"Before the burst {i}", "author": "bench-writer", "status": "published",
                                      "body_markdown": "## Harbour\n\nThe ferry leaves at nine. " * 40})
    slugs.append(made["slug"])
slug_file = os.path.join(os.path.dirname(out), "webhook-bench-slugs")
open(slug_file, "w").write("\n".join(slugs) + "\n")


def wrk():
    result = subprocess.run(["wrk", "-t1", "-c8", f"-d{seconds}s", "--latency", "-s", "bench/slugs.lua", base, "--", slug_file, "random"],
                            capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", result).group(1))
    p99 = re.search(r"99%\s+(\S+)", result).group(1)
    return rate, p99


sent, answered = {}, {}  # slug -> when its publish was sent, answered


def burst(label):
    for i in range(count):
        started = time.monotonic()
        made = call("POST", "/articles", {"title": f"{label} {i}", "author": "bench-writer", "status": "published",
                                          "body_markdown": "## Harbour\n\nThe ferry leaves at nine. " * 40})
        sent[made["slug"]], answered[made["slug"]] = started, time.monotonic()


def reads_during(label):
    writer = threading.Thread(target=burst, args=(label,))
    started = time.monotonic()
    writer.start()
    time.sleep(0.5)
    rate = wrk()
    writer.join()
    return rate, time.monotonic() - started


quiet = wrk()
control, _ = reads_during("No subscriber")
hook = call("POST", "/webhooks", {"url": f"http://127.0.0.1:{server.server_port}/hook", "events": ["article.published"]})
verifier = Webhook(hook["secret"])
during, burst_seconds = reads_during("Burst")
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    with lock:
        if len(received) >= count:
            break
    time.sleep(0.1)
time.sleep(2)  # anything twice would come now

with lock:
    events = list(received)
ids = [e[1] for e in events]
delivered = [(t, e["data"]["slug"]) for t, _, e, _ in events if e["data"].get("slug") in sent]
from_sent = sorted((t - sent[slug]) * 1000 for t, slug in delivered)
from_answer = sorted((t - answered[slug]) * 1000 for t, slug in delivered)


def pct(values, p):
    return round(values[min(len(values) - 1, int(p / 100 * len(values)))], 1) if values else float("nan")


result = {
    "publishes": count,
    "burst_seconds": round(burst_seconds, 1),
    "received": len(events),
    "verified": sum(1 for e in events if e[3]),
    "duplicates": len(ids) - len(set(ids)),
    "request_to_delivery_ms": {"p50": pct(from_sent, 50), "p99": pct(from_sent, 99), "max": pct(from_sent, 100)},
    "answer_to_delivery_ms": {"p50": pct(from_answer, 50), "p99": pct(from_answer, 99), "max": pct(from_answer, 100)},
    "reads_quiet": {"requests_per_second": quiet[0], "p99": quiet[1]},
    "reads_during_burst_no_subscriber": {"requests_per_second": control[0], "p99": control[1]},
    "reads_during_burst_delivered": {"requests_per_second": during[0], "p99": during[1]},
}
print(f"  {count} publishes in {burst_seconds:.1f} s (one editor, one at a time)")
print(f"  received {result['received']}, verified by the reference library {result['verified']}, twice {result['duplicates']}")
print(f"  publish sent -> delivered:     p50 {pct(from_sent, 50)} ms, p99 {pct(from_sent, 99)} ms, max {pct(from_sent, 100)} ms")
print(f"  publish answered -> delivered: p50 {pct(from_answer, 50)} ms, p99 {pct(from_answer, 99)} ms, max {pct(from_answer, 100)} ms")
print("  reads (article by random slug, 8 connections, uncached):")
print(f"    quiet                         {quiet[0]:8.0f} req/s (p99 {quiet[1]})")
print(f"    during a burst, no subscriber {control[0]:8.0f} req/s (p99 {control[1]}): {control[0] / quiet[0]:.2f} of quiet")
print(f"    during a burst, delivered     {during[0]:8.0f} req/s (p99 {during[1]}): {during[0] / quiet[0]:.2f} of quiet, "
      f"{during[0] / control[0]:.2f} of the burst without webhooks")
json.dump(result, open(out, "w"), indent=2)
ok = result["received"] == count and result["verified"] == count and result["duplicates"] == 0
sys.exit(0 if ok else 1)

#!/usr/bin/python3
"""gen.py: the tills of tests/deploy. For each STORE=SOCKET it submits that
store's business day (ss-gen, a seed per store) to the agent's socket in
small chunks, until the file STOP exists, and retries a chunk the agent did
not answer (it restarts during a rollout) until it answers: business keys
make the retry safe, what the agent already had comes back as duplicates.
At the end it writes OUT: per store, the records the agent accepted
(accepted the first time, or as a duplicate of the lost attempt), the
money they move (amount_fen, as the hub counts it), the refused ones, and
how many attempts had no answer.

  gen.py BIN_DIR STOP OUT STORE=SOCKET..."""
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

CHUNK = 25
PAUSE_S = 0.1

bin_dir, stop, out = sys.argv[1:4]
targets = [a.split("=", 1) for a in sys.argv[4:]]
result = {}


def amount_fen(rec):
    """What a record adds to its store's amount_fen at the hub (the rule of
    ss_record_amount_fen, common/ss_record.c)."""
    t = rec.get("type")
    if t == "sale":
        return rec.get("total_fen", 0)
    if t == "contract_sale":
        return rec.get("deposit_fen", 0)
    if t == "payment":
        return rec.get("amount_fen", 0)
    if t in ("refund", "complaint_progress"):
        return -rec.get("amount_fen", 0)
    return 0


def till(store, sock, seed):
    lines = subprocess.run([f"{bin_dir}/ss-gen", "--store", store, "--records", "40000",
                            "--seed", str(seed)], stdout=subprocess.PIPE, check=True
                           ).stdout.decode().splitlines(keepends=True)
    r = {"submitted": 0, "accepted": 0, "duplicates": 0, "refused": 0, "unanswered": 0,
         "chunks": 0, "amount_fen": 0}
    tmp = tempfile.NamedTemporaryFile("w", delete=False, suffix=f"-{store}.jsonl")
    i = 0
    while not os.path.exists(stop) and i < len(lines):
        chunk = lines[i:i + CHUNK]
        with open(tmp.name, "w") as f:
            f.writelines(chunk)
        while True:
            p = subprocess.run([f"{bin_dir}/storectl", "--agent", f"ipc://{sock}", "--timeout",
                                "3", "submit", tmp.name, "--json"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
            try:
                doc = json.loads(p.stdout.decode())
            except ValueError:
                doc = None
            if doc is not None and p.returncode in (0, 1):
                break
            r["unanswered"] += 1
            time.sleep(0.2)
        r["submitted"] += len(chunk)
        r["accepted"] += doc["accepted"]
        r["duplicates"] += doc["duplicates"]
        r["refused"] += doc["refused"]
        if not doc["refused"]:
            # Every record of the chunk is the agent's now, once: accepted,
            # or a duplicate of what an unanswered attempt gave it.
            r["amount_fen"] += sum(amount_fen(json.loads(line)) for line in chunk)
        r["chunks"] += 1
        i += CHUNK
        time.sleep(PAUSE_S)
    os.unlink(tmp.name)
    result[store] = r


threads = [threading.Thread(target=till, args=(s, sock, 1000 + n))
           for n, (s, sock) in enumerate(targets)]
for t in threads:
    t.start()
for t in threads:
    t.join()
with open(out + ".tmp", "w") as f:
    json.dump(result, f, indent=1)
os.replace(out + ".tmp", out)

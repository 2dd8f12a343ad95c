#!/usr/bin/python3
"""deploy/rollout's decisions without any host: how --waves cuts an
inventory, what an inventory may hold, and when the health gate calls a
backlog draining. (The fleet test runs them on real hosts.)"""
import importlib.machinery
import importlib.util
import os
import sys
import tempfile

sys.dont_write_bytecode = True
here = os.path.dirname(os.path.realpath(__file__))
path = os.path.join(here, "..", "..", "deploy", "rollout")
loader = importlib.machinery.SourceFileLoader("rollout", path)
spec = importlib.util.spec_from_loader("rollout", loader)
rollout = importlib.util.module_from_spec(spec)
loader.exec_module(rollout)

fails = 0
checks = 0


def check(what, ok):
    global fails, checks
    checks += 1
    print(("ok: " if ok else "FAIL: ") + what)
    fails += not ok


stores = [f"S{i:03d}" for i in range(1, 201)]
waves = rollout.plan_waves("1,5%,25%,100%", stores)
check("200 stores, 1,5%,25%,100%: waves of 1, 9, 40, 150",
      [len(w) for w in waves] == [1, 9, 40, 150])
check("every store once, in inventory order", sum(waves, []) == stores)
check("6 stores, 1,3,100%: 1, 2, 3", [len(w) for w in rollout.plan_waves("1,3,100%", stores[:6])] == [1, 2, 3])
check("a percentage rounds up, empty waves are dropped: 3 stores, 10%,20%,100% -> 1, 2",
      [len(w) for w in rollout.plan_waves("10%,20%,100%", stores[:3])] == [1, 2])
check("waves past the inventory stop at its end",
      [len(w) for w in rollout.plan_waves("5,50", stores[:8])] == [5, 3])
try:
    rollout.plan_waves("1,lots", stores)
    check("--waves 1,lots is refused", False)
except rollout.DeployError as e:
    check(f"--waves 1,lots is refused ({e})", "lots" in str(e))

with tempfile.TemporaryDirectory() as d:
    inv = os.path.join(d, "inv.csv")
    with open(inv, "w") as f:
        f.write("store_id,host\n# a comment\nS1,h1\n\nS2, h2 \n")
    s, h = rollout.read_inventory(inv)
    check("inventory: header, comments and blank lines skipped, spaces trimmed",
          s == ["S1", "S2"] and h == {"S1": "h1", "S2": "h2"})
    for text, want in (("S1,h1\nS1,h2\n", "twice"), ("S1\n", "store_id,host"), ("", "no stores")):
        with open(inv, "w") as f:
            f.write(text)
        try:
            rollout.read_inventory(inv)
            check(f"inventory {text!r} refused", False)
        except rollout.DeployError as e:
            check(f"inventory {text!r} refused: {e}", want in str(e))

row = lambda b, a: {"backlog": b, "oldest_unsent_age_ms": a}  # noqa: E731
check("draining: empty backlog", rollout.draining(row(50, 90000), row(0, 0), 30000)[0])
check("draining: keeping up (oldest unsent younger than the limit)",
      rollout.draining(row(50, 100), row(80, 2000), 30000)[0])
check("draining: a backlog left from an outage, falling",
      rollout.draining(row(5000, 600000), row(3000, 400000), 30000)[0])
check("not draining: growing and old", not rollout.draining(row(3000, 400000), row(5000, 410000), 30000)[0])
check("not draining: not growing but the oldest record is not getting younger",
      not rollout.draining(row(3000, 400000), row(3000, 402000), 30000)[0])

print(f"{checks} passed, {fails} failed" if not fails else f"{checks - fails} passed, {fails} failed")
sys.exit(1 if fails else 0)

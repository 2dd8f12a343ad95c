#!/usr/bin/python3
"""deploy/rollout's decisions without any host: how --waves cuts an
inventory, what an inventory may hold, when the health gate calls a
backlog draining, and what the gate passes and fails, against a fake hub
and host. (The fleet test runs them on real hosts.)"""
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

row = lambda b, a, seen=0: {"backlog": b, "oldest_unsent_age_ms": a, "last_seen_ms": seen}  # noqa: E731
check("draining: empty backlog", rollout.draining(row(50, 90000), row(0, 0, 3000))[0])
check("draining: a backlog left from an outage, falling",
      rollout.draining(row(5000, 600000), row(3000, 400000, 3000))[0])
check("draining: a busy store's sales in flight (5 -> 12 records, all newer than the last heartbeat)",
      rollout.draining(row(5, 100), row(12, 200, 3000))[0])
check("not draining: growing, its oldest record unsent at the last view too (50 -> 80, 100 -> 2000 ms, "
      "1 s apart)", not rollout.draining(row(50, 100), row(80, 2000, 1000))[0])
check("not draining: growing and old", not rollout.draining(row(3000, 400000), row(5000, 410000, 3000))[0])
check("not draining: not growing but the oldest record is not getting younger",
      not rollout.draining(row(3000, 400000), row(3000, 402000, 3000))[0])


# The gate itself, against a fake hub and host and a clock of its own: one
# view of the hub (hqctl stores --json) a second, the host (its unit's state
# and agent process) asked when the gate asks.
class FakeTools:
    def __init__(self, views, host):
        self.views, self.host, self.n, self.t = views, host, 0, 0.0

    def stores(self):
        r = self.views[min(self.n, len(self.views) - 1)]
        self.n += 1
        return {"S1": r}

    def run(self, host, script, args=(), timeout=120, log=None):
        out = self.host(self.t)
        return out if isinstance(out, tuple) else (0, out + "\n")


def gate(views, host=lambda t: "active 4242:1000", soak=4, timeout=30):
    class A:
        parallel, gate_timeout, gate_soak = 2, timeout, soak
    tools = FakeTools(views, host)
    r = rollout.Rollout(A, tools)
    r.clock = lambda: tools.t
    r.sleep = lambda d: setattr(tools, "t", tools.t + d)
    r.st = {"hosts": {"S1": "h1"}, "stores": {"S1": {}}}
    failed = r.gate(["S1"], {"S1": "2.0"}, "test")
    return failed.get("S1"), r.st["stores"]["S1"].get("gate"), tools.t


def view(i, b=0, a=0, version="2.0", epoch="00aa"):
    """The hub's row of S1 at second i: heard from then."""
    return {"store_id": "S1", "agent_version": version, "epoch": epoch, "last_seen_ms": 1000 * i,
            "backlog": b, "oldest_unsent_age_ms": a}


steady = [view(0, version="1.0")] + [view(i, b=max(0, 40 - 10 * i), a=max(0, 9000 - 1000 * i))
                                      for i in range(1, 30)]
bad, why, t = gate(steady)
check(f"gate: a steady store, draining 30 -> 0, passes after the soak ({why}; {t:g} s)",
      bad is None and why and "soaked" in why and t >= 4)
bad, why, t = gate(steady, soak=10)
check(f"gate: --gate-soak 10 is waited for ({t:g} s)", bad is None and t >= 10)
bad, why, t = gate([view(0, version="1.0")] + [view(i) for i in range(1, 3)] + [view(2)] * 30)
check(f"gate: a store heard from only twice does not pass ({bad})",
      bad is not None and "soak not over" in bad)
bad, why, t = gate(steady, host=lambda t: "active 4242:1000" if t < 3 else "active 4250:1370")
check(f"gate: an agent that restarted between views fails at once ({bad})",
      bad is not None and "restarted" in bad and "4242:1000 -> 4250:1370" in bad and t < 10)
bad, why, t = gate(steady, host=lambda t: "active 4242:1000" if t < 3 else "active 4242:1370")
check("gate: a restart that reused the PID is a restart too", bad is not None and "restarted" in bad)
bad, why, t = gate(steady, host=lambda t: "activating 0:0" if t < 3 else "failed 0:0")
check(f"gate: an agent whose unit failed fails ({bad})", bad is not None and "failed on h1" in bad)
growing = [view(0, version="1.0")] + [view(i, b=50 + 30 * i, a=1000 * i) for i in range(1, 30)]
bad, why, t = gate(growing)
check(f"gate: a growing backlog fails ({bad})", bad is not None and "growing" in bad)
stuck = [view(0, version="1.0")] + [view(i, b=300, a=60000 + 1000 * i) for i in range(1, 30)]
bad, why, t = gate(stuck)
check(f"gate: a backlog standing still, getting older, fails ({bad})",
      bad is not None and "not draining" in bad)
reepoch = [view(0, version="1.0"), view(1), view(2), view(3, epoch="00bb")] + [view(i) for i in range(4, 30)]
bad, why, t = gate(reepoch)
check(f"gate: a new epoch during the soak fails ({bad})", bad is not None and "epoch" in bad)
bad, why, t = gate(steady, host=lambda t: "active 4242:1000" if t < 3
                   else (255, "(no answer from h1 in 20 s)"))
check(f"gate: a host that cannot be asked does not pass, and the timeout says why ({bad})",
      bad is not None and "soak not over" in bad and "cannot ask h1: (no answer" in bad)
stale = [view(0)] * 40
bad, why, t = gate(stale)
check(f"gate: a view from before the restart (never heard from again) does not pass ({bad})",
      bad == "not heard from since the restart")

print(f"{checks} passed, {fails} failed" if not fails else f"{checks - fails} passed, {fails} failed")
sys.exit(1 if fails else 0)

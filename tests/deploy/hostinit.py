#!/usr/bin/python3
"""PID 1 of a test store host (tests/deploy/hostlib.sh): starts the host's
sshd and reaps every process that ends up its child (the agents' fake
systemd supervisors detach, so they land here). When it ends, on SIGTERM
or when sshd dies, the kernel kills whatever is left in the host's PID
namespace: nothing a host started outlives it."""
import os
import signal
import subprocess
import sys
import time

os.chdir("/")
sshd = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", "/etc/ssh/sshd_test_config"])


def term(*_):
    # Everything else in this namespace first, politely, then we exit and
    # the kernel SIGKILLs the rest.
    try:
        os.kill(-1, signal.SIGTERM)
    except OSError:
        pass
    time.sleep(0.5)
    sys.exit(0)


signal.signal(signal.SIGTERM, term)
while True:
    try:
        pid, _ = os.wait()
    except ChildProcessError:
        time.sleep(0.2)
        continue
    if pid == sshd.pid:
        print("hostinit: sshd exited", file=sys.stderr)
        term()

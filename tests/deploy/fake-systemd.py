#!/usr/bin/python3
"""systemctl and journalctl for the test hosts of tests/deploy, where PID 1
is not systemd. Installed on a host as /usr/local/sbin/systemctl and
/usr/local/bin/journalctl (the name it is called by picks the tool), it
runs a unit from /lib/systemd/system the way systemd would for what our
units use: ExecStart as User/Group with UMask and NoNewPrivileges, the
StateDirectory and RuntimeDirectory made (and the latter removed at stop)
with their modes and owner, the environment systemd gives a service
(NOTIFY_SOCKET, WATCHDOG_USEC, STATE_DIRECTORY, RUNTIME_DIRECTORY, INVOCATION_ID,
HOME, USER...), Type=notify (active only after READY=1 on the notify
socket), WatchdogSec (SIGABRT without a WATCHDOG=1 in time), KillSignal
and TimeoutStopSec (then SIGKILL), ExecReload's SIGHUP, Restart=on-failure
with RestartSec, StartLimitBurst in StartLimitIntervalSec (then "failed"),
and ConditionPathExists. The daemon's stdout and stderr go to
/var/log/fake-journal/UNIT.log, which journalctl -u UNIT -n N prints.

Each unit has one supervisor process (this file, "supervise UNIT"), the
parent of the daemon, whose state it writes to /run/fake-systemd/UNIT.state:
activating, active, reloading, deactivating, inactive, failed."""
import ctypes
import os
import pwd
import grp
import shlex
import signal
import socket
import subprocess
import sys
import time
import uuid

UNIT_DIRS = ["/etc/systemd/system", "/lib/systemd/system"]
RUN = "/run/fake-systemd"
LOG = "/var/log/fake-journal"


def unit_name(name):
    return name if name.endswith(".service") else name + ".service"


def parse_unit(name):
    for d in UNIT_DIRS:
        path = os.path.join(d, name)
        if os.path.exists(path):
            break
    else:
        return None
    sections, cur = {}, None
    for line in open(path):
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            cur = sections.setdefault(line.strip("[]"), {})
            continue
        k, _, v = line.partition("=")
        cur.setdefault(k.strip(), []).append(v.strip())
    return sections


def get(u, sec, key, default=None):
    vals = u.get(sec, {}).get(key)
    return vals[-1] if vals else default


def seconds(text, default):
    if text is None:
        return default
    text = text.strip()
    for suffix, mul in (("ms", 0.001), ("min", 60), ("s", 1)):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * mul
    return float(text)


def state_path(name):
    return os.path.join(RUN, name + ".state")


def read_state(name):
    try:
        return open(state_path(name)).read().strip()
    except OSError:
        return "inactive"


def write_state(name, state):
    os.makedirs(RUN, exist_ok=True)
    tmp = state_path(name) + ".tmp"
    with open(tmp, "w") as f:
        f.write(state + "\n")
    os.replace(tmp, state_path(name))


def pid_of(name, what):
    try:
        pid = int(open(os.path.join(RUN, f"{name}.{what}.pid")).read())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def log(name, msg):
    os.makedirs(LOG, exist_ok=True)
    with open(os.path.join(LOG, name + ".log"), "a") as f:
        f.write(time.strftime("%Y-%m-%d %H:%M:%S ") + "fake-systemd: " + msg + "\n")


def make_dir(path, mode, uid, gid):
    os.makedirs(path, exist_ok=True)
    os.chown(path, uid, gid)
    os.chmod(path, mode)


def spawn(name, u, notify_path):
    """The daemon, as systemd would exec it. Returns the Popen."""
    user = get(u, "Service", "User", "root")
    group = get(u, "Service", "Group") or grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name
    pw = pwd.getpwnam(user)
    gid = grp.getgrnam(group).gr_gid
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           "LANG": "C.UTF-8", "USER": user, "LOGNAME": user, "HOME": pw.pw_dir,
           "SHELL": pw.pw_shell, "INVOCATION_ID": uuid.uuid4().hex,
           "NOTIFY_SOCKET": notify_path}
    for kind, base in (("StateDirectory", "/var/lib"), ("RuntimeDirectory", "/run")):
        d = get(u, "Service", kind)
        if d:
            mode = int(get(u, "Service", kind + "Mode", "0755"), 8)
            make_dir(os.path.join(base, d), mode, pw.pw_uid, gid)
            env[kind.upper().replace("DIRECTORY", "_DIRECTORY")] = os.path.join(base, d)
    wd = get(u, "Service", "WatchdogSec")
    if wd:
        env["WATCHDOG_USEC"] = str(int(seconds(wd, 0) * 1e6))
    for e in u.get("Service", {}).get("Environment", []):
        for kv in shlex.split(e):
            k, _, v = kv.partition("=")
            env[k] = v
    argv = shlex.split(get(u, "Service", "ExecStart"))
    argv[0] = argv[0].lstrip("-@+!")
    umask = int(get(u, "Service", "UMask", "0022"), 8)
    nnp = get(u, "Service", "NoNewPrivileges", "no") in ("yes", "true", "1")

    def child():
        os.setsid()
        if nnp:
            ctypes.CDLL(None, use_errno=True).prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
    out = open(os.path.join(LOG, name + ".log"), "ab")
    return subprocess.Popen(argv, env=env, cwd="/", user=pw.pw_uid, group=gid, extra_groups=[],
                            umask=umask, preexec_fn=child, stdin=subprocess.DEVNULL,
                            stdout=out, stderr=out, close_fds=True)


def supervise(name):
    u = parse_unit(name)
    restart = get(u, "Service", "Restart", "no")
    restart_sec = seconds(get(u, "Service", "RestartSec"), 0.1)
    burst = int(get(u, "Unit", "StartLimitBurst", "5"))
    interval = seconds(get(u, "Unit", "StartLimitIntervalSec"), 10)
    stop_timeout = seconds(get(u, "Service", "TimeoutStopSec"), 90)
    watchdog = seconds(get(u, "Service", "WatchdogSec"), 0)
    kill_sig = getattr(signal, get(u, "Service", "KillSignal", "SIGTERM"))
    notify_path = os.path.join(RUN, name + ".notify")
    try:
        os.unlink(notify_path)
    except OSError:
        pass
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(notify_path)
    os.chmod(notify_path, 0o777)
    sock.settimeout(0.2)
    stopping = []
    reload_req = []
    signal.signal(signal.SIGTERM, lambda *a: stopping.append(1))
    signal.signal(signal.SIGHUP, lambda *a: reload_req.append(1))
    starts = []
    while not stopping:
        now = time.monotonic()
        starts = [t for t in starts if now - t < interval] + [now]
        if len(starts) > burst:
            log(name, f"start request repeated too quickly ({burst} in {interval:g}s): failed")
            write_state(name, "failed")
            return
        write_state(name, "activating")
        proc = spawn(name, u, notify_path)
        with open(os.path.join(RUN, name + ".main.pid"), "w") as f:
            f.write(str(proc.pid))
        log(name, f"started {name}, main pid {proc.pid}")
        last_ping = time.monotonic()
        while proc.poll() is None:
            if stopping:
                write_state(name, "deactivating")
                proc.send_signal(kill_sig)
                try:
                    proc.wait(stop_timeout)
                except subprocess.TimeoutExpired:
                    log(name, f"stop timed out after {stop_timeout:g}s: SIGKILL")
                    proc.kill()
                    proc.wait()
                break
            if reload_req:
                reload_req.clear()
                proc.send_signal(signal.SIGHUP)
            try:
                msg = sock.recv(4096).decode(errors="replace")
            except socket.timeout:
                msg = ""
            for line in msg.splitlines():
                if line == "READY=1":
                    write_state(name, "active")
                    last_ping = time.monotonic()
                elif line == "RELOADING=1":
                    write_state(name, "reloading")
                elif line == "WATCHDOG=1":
                    last_ping = time.monotonic()
                elif line == "STOPPING=1":
                    write_state(name, "deactivating")
            if watchdog and time.monotonic() - last_ping > watchdog:
                log(name, f"watchdog timeout ({watchdog:g}s): SIGABRT")
                proc.send_signal(signal.SIGABRT)
                proc.wait()
                break
        code = proc.returncode
        log(name, f"main process exited, status {code}")
        if stopping:
            break
        if restart in ("always",) or (restart == "on-failure" and code != 0):
            write_state(name, "activating")
            time.sleep(restart_sec)
            continue
        write_state(name, "failed" if code != 0 else "inactive")
        return
    if get(u, "Service", "RuntimeDirectory"):
        subprocess.run(["rm", "-rf", os.path.join("/run", get(u, "Service", "RuntimeDirectory"))])
    write_state(name, "inactive")


def start(name):
    u = parse_unit(name)
    if u is None:
        print(f"Failed to start {name}: Unit {name} not found.", file=sys.stderr)
        return 5
    if pid_of(name, "supervisor"):
        return 0
    cond = get(u, "Unit", "ConditionPathExists")
    if cond and not os.path.exists(cond.lstrip("!")):
        log(name, f"condition failed: ConditionPathExists={cond}: skipped")
        write_state(name, "inactive")
        return 0
    os.makedirs(RUN, exist_ok=True)
    os.makedirs(LOG, exist_ok=True)
    write_state(name, "activating")
    pid = os.fork()
    if pid == 0:
        os.setsid()
        if os.fork() == 0:
            fd = os.open("/dev/null", os.O_RDWR)
            for i in (0, 1, 2):
                os.dup2(fd, i)
            with open(os.path.join(RUN, name + ".supervisor.pid"), "w") as f:
                f.write(str(os.getpid()))
            try:
                supervise(name)
            finally:
                os._exit(0)
        os._exit(0)
    os.waitpid(pid, 0)
    # systemctl start of a Type=notify unit returns once READY=1 came, or
    # the start failed.
    deadline = time.monotonic() + seconds(get(u, "Service", "TimeoutStartSec"), 90)
    while time.monotonic() < deadline:
        st = read_state(name)
        if st == "active":
            return 0
        if st in ("failed", "inactive"):
            break
        time.sleep(0.05)
    print(f"Job for {name} failed. See \"journalctl -u {name}\" for details.", file=sys.stderr)
    return 1


def stop(name):
    pid = pid_of(name, "supervisor")
    if not pid:
        if read_state(name) != "failed":
            write_state(name, "inactive")
        return 0
    os.kill(pid, signal.SIGTERM)
    while True:
        try:
            os.kill(pid, 0)
        except OSError:
            break
        if read_state(name) == "inactive":
            # exited and wrote its last state; a zombie until init reaps it
            time.sleep(0.05)
            break
        time.sleep(0.05)
    return 0


def systemctl(args):
    props, rest, it = [], [], iter(args)
    for a in it:
        if a in ("-p", "--property"):
            props += next(it, "").split(",")
        elif a.startswith("--property="):
            props += a.split("=", 1)[1].split(",")
        elif not a.startswith("--"):
            rest.append(a)
    args = rest
    if not args:
        return 0
    cmd, units = args[0], [unit_name(a) for a in args[1:]]
    if cmd in ("daemon-reload", "enable", "disable", "mask", "unmask", "preset", "is-enabled"):
        return 0
    rc = 0
    for name in units:
        if cmd == "start":
            rc |= start(name)
        elif cmd == "stop":
            rc |= stop(name)
        elif cmd in ("restart", "try-restart"):
            if cmd == "try-restart" and read_state(name) != "active":
                continue
            stop(name)
            rc |= start(name)
        elif cmd == "reload":
            pid = pid_of(name, "supervisor")
            if pid:
                os.kill(pid, signal.SIGHUP)
            else:
                rc |= 1
        elif cmd == "is-active":
            st = read_state(name)
            print(st)
            rc |= 0 if st == "active" else 3
        elif cmd == "is-failed":
            st = read_state(name)
            print(st)
            rc |= 0 if st == "failed" else 1
        elif cmd == "show":
            show = {"ActiveState": read_state(name), "MainPID": pid_of(name, "main") or 0}
            for k, v in show.items():
                if not props or k in props:
                    print(f"{k}={v}")
        elif cmd == "status":
            st = read_state(name)
            print(f"* {name} - Active: {st} (fake-systemd, main pid {pid_of(name, 'main') or '-'})")
            rc |= journalctl(["-u", name, "-n", "10"])
            rc |= 0 if st == "active" else 3
        else:
            print(f"fake systemctl: {cmd}: not supported", file=sys.stderr)
            return 1
    return rc


def journalctl(args):
    name, n = None, 10
    i = 0
    while i < len(args):
        if args[i] == "-u":
            name, i = unit_name(args[i + 1]), i + 1
        elif args[i] == "-n":
            n, i = int(args[i + 1]), i + 1
        i += 1
    if not name:
        return 0
    try:
        lines = open(os.path.join(LOG, name + ".log"), errors="replace").read().splitlines()
    except OSError:
        lines = []
    for line in lines[-n:]:
        print(line)
    return 0


def main():
    tool = os.path.basename(sys.argv[0])
    if len(sys.argv) >= 3 and sys.argv[1] == "supervise":
        supervise(unit_name(sys.argv[2]))
        return 0
    if tool == "journalctl":
        return journalctl(sys.argv[1:])
    return systemctl(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())

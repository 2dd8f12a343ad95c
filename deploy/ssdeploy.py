"""ssdeploy: what deploy/enroll and deploy/rollout share. A store host is
reached over SSH as root (HQ IT's deploy key; $SS_SSH or --ssh names the
command, default "ssh -o BatchMode=yes"), the hub through hqctl on the HQ
admin host ($SS_HQCTL or --hqctl, default "hqctl"; the endpoint from
hqctl's own settings, e.g. STORESYNC_HUB=ipc:///run/storesync/hub-admin.sock).
The agent's package files are storesync-agent_VERSION-1_ARCH.deb in the
packages directory (--packages, default ./build): the ones cpack makes."""
import glob
import json
import os
import shlex
import subprocess
import sys
import time

AGENT_UNIT = "store-agent"
CACHE = "/var/cache/storesync"     # on a store host: the .deb files it was given


class DeployError(Exception):
    pass


class Tools:
    def __init__(self, ssh=None, hqctl=None, packages=None):
        self.ssh = shlex.split(ssh or os.environ.get("SS_SSH") or "ssh -o BatchMode=yes")
        self.hqctl_cmd = shlex.split(hqctl or os.environ.get("SS_HQCTL") or "hqctl")
        self.packages = packages or os.environ.get("SS_PACKAGES") or "build"

    # ---- the store hosts ----

    def run(self, host, script, args=(), timeout=120, log=None):
        """Runs the POSIX sh script on host as `sh -s -- ARGS`. Returns
        (exit status, output); 255 when ssh itself failed."""
        cmd = self.ssh + [host, "sh -s -- " + " ".join(shlex.quote(a) for a in args)]
        try:
            p = subprocess.run(cmd, input=script.encode(), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=timeout)
            out, rc = p.stdout.decode(errors="replace"), p.returncode
        except subprocess.TimeoutExpired:
            out, rc = f"(no answer from {host} in {timeout} s)\n", 255
        if log:
            log.write(f"--- {time.strftime('%H:%M:%S')} ssh {host} (exit {rc})\n{out}")
            log.flush()
        return rc, out

    def copy(self, host, path, remote_dir=CACHE, log=None):
        """Copies path into remote_dir on host (atomically: a half-copied
        file never has the final name)."""
        name = os.path.basename(path)
        dst = f"{remote_dir}/{name}"
        cmd = self.ssh + [host, f"mkdir -p {remote_dir} && cat > {dst}.part && mv {dst}.part {dst}"]
        with open(path, "rb") as f:
            p = subprocess.run(cmd, stdin=f, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=300)
        if log:
            log.write(f"--- {time.strftime('%H:%M:%S')} copy {name} to {host}:{remote_dir} "
                      f"(exit {p.returncode})\n{p.stdout.decode(errors='replace')}")
            log.flush()
        if p.returncode != 0:
            raise DeployError(f"cannot copy {name} to {host}: "
                              f"{p.stdout.decode(errors='replace').strip()}")
        return dst

    # ---- the hub ----

    def hqctl(self, *args, check=True):
        p = subprocess.run(self.hqctl_cmd + list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        if check and p.returncode != 0:
            raise DeployError(f"hqctl {' '.join(args)}: {p.stderr.decode().strip()}")
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def hqctl_json(self, *args):
        _, out, _ = self.hqctl(*args, "--json")
        return json.loads(out or "[]")

    def stores(self):
        """The hub's view: store id -> its row of `hqctl stores --json`."""
        return {r["store_id"]: r for r in self.hqctl_json("stores")}

    # ---- packages ----

    def package(self, version):
        """The agent's .deb of version in the packages directory."""
        if os.path.isfile(self.packages):
            return self.packages
        hits = sorted(glob.glob(os.path.join(self.packages, f"storesync-agent_{version}-*.deb")))
        if not hits:
            raise DeployError(f"no storesync-agent_{version}-*.deb in {self.packages} "
                              "(cpack -G DEB in a build directory makes it; --packages DIR)")
        return hits[-1]


def deb_version(path):
    """The upstream version a storesync-agent_V-R_ARCH.deb carries."""
    name = os.path.basename(path)
    return name.split("_")[1].rsplit("-", 1)[0]


def die(prog, msg, code=1):
    print(f"{prog}: {msg}", file=sys.stderr)
    sys.exit(code)

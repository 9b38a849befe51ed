"""Shared pieces of scripts/bench and scripts/netfault (issue 8).

Starts real processes on loopback (or in a network namespace the caller
created), each stopped by its PID: the cloud stand-in (mosquitto), the
edge-gateway, a mosquitto bridge as the peer, gw-loadgen and gw-counter.
Python 3 standard library only.
"""
import json
import os
import signal
import socket
import subprocess
import tempfile
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def mosquitto_dir(workdir, prefix):
    """A directory mosquitto can write after dropping root to its own user
    (mkdtemp makes 0700 dirs, which would silently disable persistence)."""
    os.chmod(workdir, 0o755)
    d = tempfile.mkdtemp(prefix=prefix, dir=workdir)
    os.chmod(d, 0o777)
    return d


def free_port():
    # Below the kernel's ephemeral range, so no outgoing connection of a
    # parallel test can take the port between this check and its use.
    import random
    for _ in range(200):
        port = random.randint(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port in 20000-32000")


def wait_port(host, port, timeout=15.0, netns=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if netns:
            r = subprocess.run(["ip", "netns", "exec", netns, "python3", "-c",
                                f"import socket; socket.create_connection(('{host}', {port}), 0.5)"],
                               capture_output=True)
            if r.returncode == 0:
                return True
        else:
            try:
                with socket.create_connection((host, port), 0.5):
                    return True
            except OSError:
                pass
        time.sleep(0.05)
    return False


class Proc:
    """A child process with its own log file; stop() by PID, never by name."""

    def __init__(self, argv, log_path, netns=None, stdout=None):
        self.argv = argv
        self.log_path = log_path
        if netns:
            argv = ["ip", "netns", "exec", netns] + argv
        self.log = open(log_path, "ab")
        self.p = subprocess.Popen(argv, stdout=stdout if stdout is not None else self.log,
                                  stderr=self.log, stdin=subprocess.DEVNULL)
        self.pid = self.p.pid

    def alive(self):
        return self.p.poll() is None

    def cpu_s(self):
        """User + system CPU seconds so far (0 when gone)."""
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / CLK_TCK
        except OSError:
            return 0.0

    def _status(self, key):
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith(key + ":"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def disk_write_bytes(self):
        """Bytes this process caused to reach the block layer (/proc/PID/io write_bytes; 0 when gone)."""
        try:
            with open(f"/proc/{self.pid}/io") as f:
                for line in f:
                    if line.startswith("write_bytes:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def peak_rss_kb(self):
        return self._status("VmHWM")

    def rss_kb(self):
        return self._status("VmRSS")

    def open_fds(self):
        try:
            return len(os.listdir(f"/proc/{self.pid}/fd"))
        except OSError:
            return 0

    def send_signal(self, sig):
        if self.alive():
            os.kill(self.pid, sig)

    def stop(self, sig=signal.SIGTERM, timeout=15.0):
        if self.alive():
            os.kill(self.pid, sig)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.p.wait()
        self.log.close()
        return self.p.returncode

    def kill9(self):
        return self.stop(signal.SIGKILL)


class Tools:
    def __init__(self, build_dir):
        self.gateway = os.path.join(build_dir, "gateway/app/edge-gateway")
        self.loadgen = os.path.join(build_dir, "tests/tools/gw-loadgen")
        self.counter = os.path.join(build_dir, "tests/tools/gw-counter")
        self.faultproxy = os.path.join(build_dir, "tests/tools/gw-faultproxy")

    def missing(self):
        return [p for p in (self.gateway, self.loadgen, self.counter) if not os.access(p, os.X_OK)]


class Cloud:
    """mosquitto as the cloud stand-in. Persistence on, so the counter's
    persistent session and its queued messages survive a stop/start."""

    def __init__(self, workdir, port=None, host="127.0.0.1", netns=None, extra=""):
        self.dir = mosquitto_dir(workdir, "cloud-")
        self.host, self.port, self.netns = host, port or free_port(), netns
        self.conf = os.path.join(self.dir, "mosquitto.conf")
        with open(self.conf, "w") as f:
            f.write(f"listener {self.port} {host}\nallow_anonymous true\n"
                    "max_queued_messages 0\nmax_inflight_messages 100\n"
                    f"persistence true\npersistence_location {self.dir}/\n"
                    "autosave_interval 0\nautosave_on_changes false\n"
                    f"log_dest file {self.dir}/mosquitto.log\n" + extra)
        self.proc = None
        self.start()

    def start(self):
        self.proc = Proc(["mosquitto", "-c", self.conf], os.path.join(self.dir, "stdout.log"), self.netns)
        if not wait_port(self.host, self.port, netns=self.netns):
            raise RuntimeError(f"cloud mosquitto did not start on {self.host}:{self.port}")

    def stop(self):
        if self.proc:
            self.proc.stop()
            self.proc = None


GATEWAY_YAML = """gateway:
  id: bench-gw
  data_dir: {data_dir}
{gateway_extra}listeners:
  - name: local
    bind: 127.0.0.1:{dev_port}
    max_connections: {max_connections}
store:
  path: queue.db
  durability: {durability}
uplinks:
  - name: cloud
    type: mqtt
    host: {cloud_host}
    port: {cloud_port}
    client_id: bench-gw
    mqtt_version: 5
    topic: "gw/{{gateway_id}}/{{route}}"
    batch: {{max_messages: 1000, max_bytes: 65536, linger: {linger}}}
    compression: gzip
    backoff: {{initial: 500ms, max: 5s}}
{routes}default_route: drop
"""
ROUTES_YAML = """routes:
  - name: telemetry
    match: {topic: "plant/#"}
    to: cloud
"""


class Gateway:
    def __init__(self, tools, workdir, cloud_host, cloud_port, durability="fsync", linger="200ms", routing=True,
                 max_connections=1000, cpu_affinity=None):
        self.tools = tools
        self.dir = tempfile.mkdtemp(prefix="gw-", dir=workdir)
        self.port = free_port()
        self.conf = os.path.join(self.dir, "gateway.yaml")
        with open(self.conf, "w") as f:
            f.write(GATEWAY_YAML.format(data_dir=os.path.join(self.dir, "var"), dev_port=self.port,
                                        durability=durability, cloud_host=cloud_host,
                                        cloud_port=cloud_port, linger=linger, max_connections=max_connections,
                                        routes=ROUTES_YAML if routing else "",
                                        gateway_extra=f"  cpu_affinity: {cpu_affinity}\n" if cpu_affinity else ""))
        self.proc = None
        self.start()

    def start(self):
        self.proc = Proc([self.tools.gateway, "run", "--config", self.conf], os.path.join(self.dir, "gateway.log"))
        if not wait_port("127.0.0.1", self.port):
            raise RuntimeError("gateway did not start: " + open(os.path.join(self.dir, "gateway.log")).read()[-2000:])

    def db_bytes(self):
        total = 0
        vdir = os.path.join(self.dir, "var")
        for name in os.listdir(vdir) if os.path.isdir(vdir) else []:
            if name.startswith("queue.db"):
                total += os.path.getsize(os.path.join(vdir, name))
        return total

    def stop(self, sig=signal.SIGTERM):
        if self.proc:
            self.proc.stop(sig)
            self.proc = None


class Bridge:
    """The peer: a device-side mosquitto with persistence, bridging plant/#
    to the cloud at QoS 1. `unlimited` removes max_queued_messages (stock: 1000)."""

    def __init__(self, workdir, cloud_host, cloud_port, unlimited=False):
        self.dir = mosquitto_dir(workdir, "bridge-")
        self.port = free_port()
        self.conf = os.path.join(self.dir, "mosquitto.conf")
        with open(self.conf, "w") as f:
            f.write(f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
                    f"persistence true\npersistence_location {self.dir}/\n"
                    + ("max_queued_messages 0\n" if unlimited else "")
                    + f"log_dest file {self.dir}/mosquitto.log\n"
                    f"connection cloud\naddress {cloud_host}:{cloud_port}\n"
                    "topic plant/# out 1\ncleansession false\nnotifications false\n"
                    "bridge_protocol_version mqttv311\nremote_clientid bench-bridge\n")
        self.proc = None
        self.start()

    def start(self):
        self.proc = Proc(["mosquitto", "-c", self.conf], os.path.join(self.dir, "stdout.log"))
        if not wait_port("127.0.0.1", self.port):
            raise RuntimeError("bridge mosquitto did not start")

    def db_bytes(self):
        p = os.path.join(self.dir, "mosquitto.db")
        return os.path.getsize(p) if os.path.exists(p) else 0

    def stop(self, sig=signal.SIGTERM):
        if self.proc:
            self.proc.stop(sig)
            self.proc = None


class Counter:
    """gw-counter in the background; result() stops it (if needed) and parses its line."""

    def __init__(self, tools, workdir, host, port, acked=None, timeout=120, extra=(), netns=None, idle=15):
        self.out = tempfile.NamedTemporaryFile(prefix="counter-", suffix=".out", dir=workdir, delete=False).name
        self.ready = self.out + ".ready"
        argv = [tools.counter, "--host", host, "--port", str(port), "--topic", "#", "--timeout", str(timeout),
                "--ready-file", self.ready, "--persistent", "--client-id", "bench-counter-%d" % os.getpid()]
        if acked:
            argv += ["--acked", ",".join(acked) if isinstance(acked, (list, tuple)) else acked, "--until-acked"]
            if idle:
                argv += ["--idle", str(idle)]
        argv += list(extra)
        self.stdout = open(self.out, "wb")
        self.proc = Proc(argv, self.out + ".log", stdout=self.stdout, netns=netns)
        deadline = time.time() + 15
        while not os.path.exists(self.ready) and time.time() < deadline and self.proc.alive():
            time.sleep(0.05)
        if not os.path.exists(self.ready):
            raise RuntimeError("gw-counter did not subscribe: " + open(self.out + ".log").read())

    def result(self, wait=None):
        if wait is not None:
            try:
                self.proc.p.wait(wait)
            except subprocess.TimeoutExpired:
                pass
        self.proc.stop(signal.SIGINT)
        self.stdout.close()
        lines = [l for l in open(self.out).read().splitlines() if l.startswith("{")]
        if not lines:
            raise RuntimeError("gw-counter printed nothing: " + open(self.out + ".log").read())
        return json.loads(lines[-1])


def run_loadgen(tools, port, clients, messages=None, duration=None, rate=0, qos=1, window=10, acked=None,
                host="127.0.0.1", extra=(), timeout=None, background=False, workdir=None):
    argv = [tools.loadgen, "--host", host, "--port", str(port), "--clients", str(clients), "--qos", str(qos),
            "--window", str(window), "--rate", str(rate)]
    if messages is not None:
        argv += ["--messages", str(messages)]
    if duration is not None:
        argv += ["--duration", str(duration)]
    if acked:
        argv += ["--acked", acked]
    argv += list(extra)
    if background:
        out = tempfile.NamedTemporaryFile(prefix="loadgen-", suffix=".out", dir=workdir, delete=False).name
        return out, subprocess.Popen(argv, stdout=open(out, "wb"), stderr=subprocess.STDOUT)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
    if r.returncode != 0 or not lines:
        raise RuntimeError(f"gw-loadgen failed ({r.returncode}): {r.stderr[-2000:]}")
    return json.loads(lines[-1])


def loadgen_result(out, popen, timeout=None):
    popen.wait(timeout)
    lines = [l for l in open(out).read().splitlines() if l.startswith("{")]
    if popen.returncode != 0 or not lines:
        raise RuntimeError(f"gw-loadgen failed ({popen.returncode}): {open(out).read()[-2000:]}")
    return json.loads(lines[-1])

#!/usr/bin/env python3
"""Boot the scenario guest under QEMU, stream traffic into the virtio-net socket, and dump guest memory.

Writes into --outdir: serial.log, manifest.json (the guest's manifest + capture facts), and one file per
requested QEMU dump format (vmcore.elf, vmcore.kdump-zlib.flat, ...).  The VM is stopped (QMP `stop`)
before the first dump, so every format of one capture holds the same memory.
"""
import argparse
import json
import os
import random
import re
import socket
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sparse  # noqa: E402

FORMAT_FILES = {
    "elf": "vmcore.elf",
    "kdump-zlib": "vmcore.kdump-zlib.flat",
    "kdump-lzo": "vmcore.kdump-lzo.flat",
    "kdump-snappy": "vmcore.kdump-snappy.flat",
    "kdump-raw-zlib": "vmcore.kdump-raw-zlib",
    "kdump-raw-lzo": "vmcore.kdump-raw-lzo",
    "kdump-raw-snappy": "vmcore.kdump-raw-snappy",
}


class QMP:
    def __init__(self, path, timeout=120):
        deadline = time.time() + timeout
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX)
                self.s.connect(path)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        self.f = self.s.makefile("rwb", buffering=0)
        self._read()  # greeting
        self.cmd("qmp_capabilities")

    def _read(self):
        while True:
            line = self.f.readline()
            if not line:
                raise RuntimeError("QMP connection closed")
            msg = json.loads(line)
            if "event" in msg:
                continue
            return msg

    def cmd(self, _name, **args):
        name = _name
        req = {"execute": name}
        if args:
            req["arguments"] = args
        self.f.write(json.dumps(req).encode() + b"\n")
        msg = self._read()
        if "error" in msg:
            raise RuntimeError(f"QMP {name}: {msg['error']}")
        return msg.get("return")


class Serial:
    """Collect the guest console (QEMU stdout) line by line, mirrored into serial.log."""

    def __init__(self, proc, logpath):
        self.lines = []
        self.cv = threading.Condition()
        self.log = open(logpath, "w")
        self.proc = proc
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace").rstrip("\r\n")
            self.log.write(line + "\n")
            self.log.flush()
            with self.cv:
                self.lines.append(line)
                self.cv.notify_all()
        with self.cv:
            self.lines.append(None)
            self.cv.notify_all()

    def wait_for(self, pattern, timeout, start=0):
        rx = re.compile(pattern)
        deadline = time.time() + timeout
        i = start
        with self.cv:
            while True:
                while i < len(self.lines):
                    line = self.lines[i]
                    if line is None:
                        raise RuntimeError("QEMU exited before " + pattern)
                    if rx.search(line):
                        return i, line
                    i += 1
                left = deadline - time.time()
                if left <= 0:
                    raise TimeoutError(f"no {pattern!r} on the guest console within {timeout}s")
                self.cv.wait(left)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def send_traffic(port, drain_port, writes, seed, gap, drain_ratio=1):
    """Many small TCP_NODELAY writes of mixed sizes to the never-reading nginx (guest :8080), interleaved
    with `drain_ratio` as many to the draining neighbour (guest :8081), so both share the driver's receive
    pages: nginx's skbs then pin about (1 + drain_ratio) x their truesize in pages.
    Returns (sockets, bytes_sent_nginx, bytes_sent_drain, stalled)."""
    rng = random.Random(seed)
    socks = []
    for p in (port, drain_port):
        s = socket.create_connection(("127.0.0.1", p), timeout=30)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.settimeout(20)
        socks.append(s)
    sent, stalled = [0, 0], False
    order = [0] + [1] * drain_ratio
    for i in range(writes):
        for j in order:
            s = socks[j]
            n = rng.randint(1, 1400)
            try:
                s.sendall(bytes([65 + i % 26]) * n)
            except socket.timeout:
                stalled = True
                break
            sent[j] += n
        if stalled:
            break
        if gap:
            time.sleep(gap)
    return socks, sent[0], sent[1], stalled


class TxSink:
    """Host-side end of the guest's txstall connection: a TCP server on 127.0.0.1 that QEMU's guestfwd
    chardev connects to at start-up.  It reads (and counts) everything: guestfwd writes with
    qemu_chr_fe_write_all, so a peer that stops reading would freeze QEMU's main loop (and QMP).  The
    unacknowledged data comes from taking the link down instead (see main)."""

    def __init__(self):
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(1)
        self.port = self.ls.getsockname()[1]
        self.conn = None
        self.received = 0
        self.accepted = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        self.conn, _ = self.ls.accept()
        self.accepted.set()
        while True:
            b = self.conn.recv(65536)
            if not b:
                return
            self.received += len(b)

    def go(self):
        if not self.accepted.wait(30):
            raise RuntimeError("QEMU's guestfwd chardev never connected to the txstall sink")
        self.conn.sendall(b"g")


def wait_txstall_queued(serial, start, timeout):
    """Wait for the guest's "TXSTALL-Q unacked=U unsent=N" with U > 0 and N > 0 at or after line
    `start`; returns {"unacked": U, "unsent": N}.  Raises with the last state seen otherwise."""
    deadline = time.time() + timeout
    idx, last = start - 1, None
    while True:
        left = deadline - time.time()
        if left <= 0:
            raise RuntimeError(f"txstall: no data queued behind the unacknowledged data {timeout}s after the "
                               f"link went down (last guest report: {last or 'none'})")
        try:
            idx, line = serial.wait_for(r"^TXSTALL-Q unacked=\d+ unsent=\d+", left, start=idx + 1)
        except TimeoutError:
            continue
        last = line
        unacked, unsent = (int(f.split("=")[1]) for f in line.split()[1:3])
        if unacked > 0 and unsent > 0:
            return {"unacked": unacked, "unsent": unsent}


def settle_recvq(serial, i_ready):
    """Wait until the guest's unread byte count stops changing (NGINX-RECVQ printed on change,
    1/s, 8 s without a change); the last value."""
    last_val, last_change = None, time.time()
    idx = i_ready
    while time.time() - last_change < 8:
        try:
            idx, line = serial.wait_for(r"^NGINX-RECVQ \d+", 2, start=idx + 1)
            val = int(line.split()[1])
            if val != last_val:
                last_val, last_change = val, time.time()
        except TimeoutError:
            pass
    return last_val


def stall_txstall(serial, qmp, tx, i_ready):
    """txstall: let the guest stream to the host sink, then take the link down with data in
    flight: no more ACKs reach the guest, so what it sent stays in tcp_rtx_queue and its next
    writes queue up. Returns (host bytes received before the link went down, the serial line
    index where it went down)."""
    tx.go()
    serial.wait_for(r"^TXSTALL-GO$", 60, start=i_ready)
    deadline = time.time() + 60
    while tx.received < (1 << 20) and time.time() < deadline:
        time.sleep(0.05)
    before = tx.received
    link_down_at = len(serial.lines)
    qmp.cmd("set_link", name="n0", up=False)
    time.sleep(3)
    return before, link_down_at


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--initrd", required=True)
    ap.add_argument("--append", required=True)
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--vmcoreinfo", action="store_true", help="add -device vmcoreinfo")
    ap.add_argument("--formats", default="elf", help="comma-separated dump-guest-memory formats")
    ap.add_argument("--mem", default="768M")
    ap.add_argument("--smp", default="1")
    ap.add_argument("--accel", default="tcg")
    ap.add_argument("--arch", default="x86_64", choices=("x86_64", "arm64"),
                    help="arm64: qemu-system-aarch64 -M virt -cpu CPU (the kernel's console on ttyAMA0)")
    ap.add_argument("--cpu", default="max", help="arm64: the -cpu model (max: 52-bit VA with LPA2; max,lpa2=off: 48-bit)")
    ap.add_argument("--writes", type=int, default=2000)
    ap.add_argument("--gap", type=float, default=0.002)
    ap.add_argument("--drain-ratio", type=int, default=1,
                    help="writes to the draining neighbour per write to nginx (the pages nginx pins grow with it)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--boot-timeout", type=int, default=600)
    a = ap.parse_args()

    os.makedirs(a.outdir, exist_ok=True)
    # QMP's unix socket lives in a short private directory of its own: a socket path has at most 107
    # bytes, and the output directory sits under $HOME or the cache, whose length is not ours to choose
    rundir = tempfile.mkdtemp(prefix="skbw-", dir="/tmp" if os.access("/tmp", os.W_OK) else None)
    qmp_path = os.path.join(rundir, "qmp.sock")
    port = free_port()
    drain_port = free_port()
    tx = TxSink()
    # arm64: QEMU's virt board (PL011 serial = ttyAMA0, PCIe for virtio-net-pci, fw_cfg for vmcoreinfo)
    machine = ["qemu-system-x86_64", "-accel", a.accel] if a.arch == "x86_64" else \
        ["qemu-system-aarch64", "-accel", a.accel, "-M", "virt", "-cpu", a.cpu]
    cmd = machine + ["-m", a.mem, "-smp", a.smp,
           "-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot",
           "-kernel", a.kernel, "-initrd", a.initrd, "-append", a.append,
           "-netdev", f"user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:{port}-:8080,hostfwd=tcp:127.0.0.1:{drain_port}-:8081"
           f",guestfwd=tcp:10.0.2.100:9000-tcp:127.0.0.1:{tx.port}",
           "-device", "virtio-net-pci,netdev=n0",
           "-qmp", f"unix:{qmp_path},server=on,wait=off"]
    if a.vmcoreinfo:
        cmd += ["-device", "vmcoreinfo"]
    facts = {"qemu_cmdline": cmd, "timings_s": {}}
    t0 = time.time()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        serial = Serial(proc, os.path.join(a.outdir, "serial.log"))
        qmp = QMP(qmp_path)
        facts["qemu_version"] = qmp.cmd("query-version")["qemu"]
        facts["dump_formats_supported"] = qmp.cmd("query-dump-guest-memory-capability")["formats"]
        i_ready, _ = serial.wait_for(r"^READY$", a.boot_timeout)
        facts["timings_s"]["boot_to_ready"] = round(time.time() - t0, 1)
        lines = serial.lines[:i_ready]
        b = lines.index("SKBW-MANIFEST-BEGIN")
        e = lines.index("SKBW-MANIFEST-END")
        entries = [json.loads(l) for l in lines[b + 1:e] if l.strip().startswith("{")]
        pipes = [s for s in entries if s.get("pipe")]  # pipes filled and never read (#28)
        packet_rings = [s for s in entries if s.get("packet")]  # an AF_PACKET socket's rings (#28)
        trace = [s for s in entries if s.get("trace")]  # the resized tracing ring buffer (#28)
        perf_rings = [s for s in entries if s.get("perf")]  # a perf event's ring buffer (#28)
        io_urings = [s for s in entries if s.get("io_uring")]  # an io_uring instance's rings (#28)
        napi_frags = [s for s in entries if s.get("napi_frags")]  # a frame of page-frag frags (#28)
        sockets = [s for s in entries if not s.get("nofd") and not s.get("pipe") and not s.get("packet")
                   and not s.get("trace") and not s.get("perf") and not s.get("io_uring")
                   and not s.get("napi_frags")]
        nofd = [s for s in entries if s.get("nofd")]  # reached only through the kernel's hash tables
        facts["guest_info"] = [l[len("SKBW-INFO "):] for l in lines if l.startswith("SKBW-INFO ")]
        warns = [l for l in lines if l.startswith("SKBW-WARN") or l.startswith("SKBW-ERROR")]
        if warns:
            facts["guest_warnings"] = warns

        t1 = time.time()
        host_socks, sent, drained, stalled = send_traffic(port, drain_port, a.writes, a.seed, a.gap, a.drain_ratio)
        facts["traffic"] = {"writes": a.writes, "drain_ratio": a.drain_ratio, "seed": a.seed, "gap_s": a.gap, "bytes_sent": sent,
                            "bytes_sent_drain": drained, "sender_stalled": stalled}
        facts["traffic"]["guest_recvq"] = settle_recvq(serial, i_ready)
        facts["timings_s"]["traffic"] = round(time.time() - t1, 1)

        t3 = time.time()
        before, link_down_at = stall_txstall(serial, qmp, tx, i_ready)
        facts["txstall"] = {"host_received_before_link_down": before,
                            "host_received_at_stop": tx.received}
        # The guest confirms the state the tier checks: data sent and not acknowledged (tcp_rtx_queue)
        # and data queued behind it, never sent (sk_write_queue), in a TXSTALL-Q line printed after the
        # link went down (no ACK arrives after it, so neither can shrink before the stop).
        facts["txstall"]["guest_queues"] = wait_txstall_queued(serial, link_down_at, 30)
        # hashtab makes its TIME_WAIT sockets (60 s) when txstall got the go byte: wait until they exist
        _, line = serial.wait_for(r"^HASHTAB-TIMEWAIT \d+", 60, start=i_ready)
        facts["hashtab"] = {"timewait_made": int(line.split()[1])}
        facts["timings_s"]["txstall"] = round(time.time() - t3, 1)

        qmp.cmd("stop")
        facts["dumps"] = {}
        for fmt in a.formats.split(","):
            if fmt not in facts["dump_formats_supported"]:
                print(f"capture: QEMU {facts['qemu_version']} cannot write {fmt}; skipped", file=sys.stderr)
                continue
            path = os.path.abspath(os.path.join(a.outdir, FORMAT_FILES[fmt]))
            t2 = time.time()
            qmp.cmd("dump-guest-memory", paging=False, protocol="file:" + path, format=fmt)
            while qmp.cmd("query-dump")["status"] == "active":
                time.sleep(0.5)
            st = qmp.cmd("query-dump")
            if st["status"] != "completed":
                raise RuntimeError(f"dump {fmt}: {st}")
            if fmt == "elf":
                sparse.dig_holes(path)
            facts["dumps"][fmt] = {"file": os.path.basename(path), "bytes": os.path.getsize(path),
                                   "seconds": round(time.time() - t2, 1)}
        try:
            qmp.cmd("quit")
        except Exception:
            pass
        for s in host_socks:
            s.close()
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(rundir, ignore_errors=True)
    facts["timings_s"]["total"] = round(time.time() - t0, 1)
    out = {"sockets": sockets, "nofd": nofd, "pipes": pipes, "packet_rings": packet_rings, "trace": trace,
           "perf_rings": perf_rings, "io_urings": io_urings, "napi_frags": napi_frags,
           "capture": facts}
    with open(os.path.join(a.outdir, "capture.json"), "w") as f:
        json.dump(out, f, indent=2)
    print(json.dumps(facts["timings_s"]))


if __name__ == "__main__":
    main()

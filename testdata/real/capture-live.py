#!/usr/bin/env python3
"""Boot L: boot A's guest (same kernel, initramfs, KASLR, -device vmcoreinfo, 2 vCPUs, traffic,
txstall link-down, TIME_WAIT wait: capture.py's own steps) with a second cpio on the initrd that adds
skbwalk, run `skbwalk --live ...` inside the guest (guest/live-agent, through the second serial port
ttyS1), then stop the VM and dump it (ELF) as boot A does, so the live answers and the dump's are of
the same moment.

Writes into --outdir: serial.log (ttyS0), agent.log (ttyS1), live/NAME.out|.err for every command
the guest ran, vmcore.elf, and live.json: the guest's manifest (sockets, nofd), the capture facts,
every command's exit code and wall time, the skips the guest logged.
"""
import argparse
import base64
import gzip
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sparse  # noqa: E402
from capture import (QMP, Serial, TxSink, free_port, send_traffic, settle_recvq,  # noqa: E402
                     stall_txstall, wait_txstall_queued)


class Agent:
    """The host end of ttyS1 (a QEMU socket chardev): lines in, mirrored into agent.log."""

    def __init__(self, path, logpath, timeout=60):
        deadline = time.time() + timeout
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX)
                self.s.connect(path)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        self.lines, self.cv = [], threading.Condition()
        self.log = open(logpath, "w")
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        buf = b""
        while True:
            b = self.s.recv(65536)
            if not b:
                break
            buf += b
            *done, buf = buf.split(b"\n")
            with self.cv:
                for raw in done:
                    line = raw.decode(errors="replace").rstrip("\r")
                    self.lines.append(line)
                    if line.startswith("LIVE-") and not line.startswith("LIVE-FILE"):
                        self.log.write(line + "\n")
                self.log.flush()
                self.cv.notify_all()
        with self.cv:
            self.lines.append(None)
            self.cv.notify_all()

    def send(self, text):
        self.s.sendall(text.encode() + b"\n")

    def wait_for(self, prefix, timeout):
        deadline = time.time() + timeout
        with self.cv:
            i = 0
            while True:
                while i < len(self.lines):
                    if self.lines[i] is None:
                        raise RuntimeError(f"the guest agent's port closed before {prefix}")
                    if self.lines[i].startswith(prefix):
                        return i
                    i += 1
                left = deadline - time.time()
                if left <= 0:
                    raise TimeoutError(f"no {prefix!r} from the guest agent within {timeout}s "
                                       f"(last: {[l for l in self.lines if l and l.startswith('LIVE-')][-3:]})")
                self.cv.wait(left)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--initrd", required=True, help="boot A's initramfs with the live cpio appended")
    ap.add_argument("--append", required=True)
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--mem", default="768M")
    ap.add_argument("--smp", default="2")
    ap.add_argument("--accel", default="tcg")
    ap.add_argument("--writes", type=int, default=2000)
    ap.add_argument("--gap", type=float, default=0.002)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--boot-timeout", type=int, default=600)
    ap.add_argument("--live-timeout", type=int, default=1800, help="seconds for all the guest's skbwalk runs")
    a = ap.parse_args()

    os.makedirs(os.path.join(a.outdir, "live"), exist_ok=True)
    rundir = tempfile.mkdtemp(prefix="skbw-", dir="/tmp" if os.access("/tmp", os.W_OK) else None)
    qmp_path, agent_path = os.path.join(rundir, "qmp.sock"), os.path.join(rundir, "agent.sock")
    port, drain_port = free_port(), free_port()
    tx = TxSink()
    cmd = ["qemu-system-x86_64", "-accel", a.accel, "-m", a.mem, "-smp", a.smp,
           "-display", "none", "-serial", "stdio",
           "-chardev", f"socket,id=agent,path={agent_path},server=on,wait=off", "-serial", "chardev:agent",
           "-monitor", "none", "-no-reboot",
           "-kernel", a.kernel, "-initrd", a.initrd, "-append", a.append,
           "-netdev", f"user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:{port}-:8080,hostfwd=tcp:127.0.0.1:{drain_port}-:8081"
           f",guestfwd=tcp:10.0.2.100:9000-tcp:127.0.0.1:{tx.port}",
           "-device", "virtio-net-pci,netdev=n0",
           "-qmp", f"unix:{qmp_path},server=on,wait=off", "-device", "vmcoreinfo"]
    facts = {"qemu_cmdline": cmd, "timings_s": {}}
    t0 = time.time()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    runs, skips = {}, []
    try:
        serial = Serial(proc, os.path.join(a.outdir, "serial.log"))
        qmp = QMP(qmp_path)
        agent = Agent(agent_path, os.path.join(a.outdir, "agent.log"))
        facts["qemu_version"] = qmp.cmd("query-version")["qemu"]
        i_ready, _ = serial.wait_for(r"^READY$", a.boot_timeout)
        facts["timings_s"]["boot_to_ready"] = round(time.time() - t0, 1)
        agent.wait_for("LIVE-HELLO", 60)
        lines = serial.lines[:i_ready]
        b, e = lines.index("SKBW-MANIFEST-BEGIN"), lines.index("SKBW-MANIFEST-END")
        entries = [json.loads(l) for l in lines[b + 1:e] if l.strip().startswith("{")]
        sockets = [s for s in entries if not s.get("nofd") and not s.get("pipe") and not s.get("packet")
                   and not s.get("perf") and not s.get("io_uring") and not s.get("trace")
                   and not s.get("napi_frags")]
        nofd = [s for s in entries if s.get("nofd")]
        facts["guest_info"] = [l[len("SKBW-INFO "):] for l in lines if l.startswith("SKBW-INFO ")]

        # capture.py's steps, unchanged: the traffic, its settling, txstall's link down, TIME_WAIT
        t1 = time.time()
        host_socks, sent, drained, stalled = send_traffic(port, drain_port, a.writes, a.seed, a.gap)
        facts["traffic"] = {"bytes_sent": sent, "bytes_sent_drain": drained, "sender_stalled": stalled}
        facts["traffic"]["guest_recvq"] = settle_recvq(serial, i_ready)
        facts["timings_s"]["traffic"] = round(time.time() - t1, 1)
        t3 = time.time()
        _, link_down_at = stall_txstall(serial, qmp, tx, i_ready)
        facts["txstall"] = {"guest_queues": wait_txstall_queued(serial, link_down_at, 30)}
        _, line = serial.wait_for(r"^HASHTAB-TIMEWAIT \d+", 60, start=i_ready)
        facts["timings_s"]["txstall"] = round(time.time() - t3, 1)

        # the live runs: the stalled nginx socket first on the GO line (the kptr_restrict case uses it)
        ng = [s for s in sockets if s["comm"] == "nginx" and s["role"] == "server"]
        order = ng + [s for s in sockets if s not in ng]
        t4 = time.time()
        agent.send("GO " + " ".join(f"{s['pid']}:{s['fd']}" for s in order))
        agent.wait_for("LIVE-STOP", a.live_timeout)
        facts["timings_s"]["live_runs"] = round(time.time() - t4, 1)

        # the same moment, dumped as boot A's ELF
        qmp.cmd("stop")
        path = os.path.abspath(os.path.join(a.outdir, "vmcore.elf"))
        t2 = time.time()
        qmp.cmd("dump-guest-memory", paging=False, protocol="file:" + path, format="elf")
        while qmp.cmd("query-dump")["status"] == "active":
            time.sleep(0.5)
        st = qmp.cmd("query-dump")
        if st["status"] != "completed":
            raise RuntimeError(f"dump elf: {st}")
        sparse.dig_holes(path)
        facts["dumps"] = {"elf": {"file": "vmcore.elf", "bytes": os.path.getsize(path),
                                  "seconds": round(time.time() - t2, 1)}}

        # let the guest run again to send what it wrote
        qmp.cmd("cont")
        agent.send("SEND")
        agent.wait_for("LIVE-DONE", 600)
        with agent.cv:
            alines = [l for l in agent.lines if l is not None]
        cur, chunks = None, []
        for l in alines:
            if l.startswith("LIVE-RUN "):
                name, rc, secs = l.split()[1:4]
                runs[name] = {"rc": int(rc.split("=")[1]), "secs": float(secs.split("=")[1])}
            elif l.startswith("LIVE-SKIP "):
                skips.append(l[len("LIVE-SKIP "):])
            elif l.startswith("LIVE-FILE "):
                cur, chunks = l.split(" ", 1)[1], []
            elif l.startswith("LIVE-FILE-END "):
                data = gzip.decompress(base64.b64decode("".join(chunks)))
                with open(os.path.join(a.outdir, "live", cur), "wb") as f:
                    f.write(data)
                cur = None
            elif cur is not None:
                chunks.append(l.strip())
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
    out = {"sockets": sockets, "nofd": nofd, "capture": facts, "runs": runs, "skips": skips}
    with open(os.path.join(a.outdir, "live.json"), "w") as f:
        json.dump(out, f, indent=2)
    print(json.dumps({"timings_s": facts["timings_s"], "runs": runs, "skips": skips}))


if __name__ == "__main__":
    main()

# Sourced by the benchmark scripts: real_dump DIR sets, for a capture of the real-dump tier,
# M (manifest), V (its vmlinux), D (boot A's ELF dump), PID and FD (nginx's stalled socket).
real_dump() {
    M=$1/manifest.json
    V=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["kernel"]["vmlinux"])' "$M")
    D=$1/A/vmcore.elf
    read -r PID FD < <(python3 -c 'import json,sys
for s in json.load(open(sys.argv[1]))["boots"]["A"]["sockets"]:
    if s["comm"] == "nginx" and s["role"] == "server": print(s["pid"], s["fd"])' "$M")
}

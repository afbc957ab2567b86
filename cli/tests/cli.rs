//! The command line's contract (`shared/spec/cli.md`): flags anywhere, JSON keys, exit codes.

use std::path::PathBuf;
use std::sync::OnceLock;

mod common;
use common::{json, run};

use testdata::sample::{write_sample, SampleSize};

fn sample() -> &'static (PathBuf, PathBuf) {
    static S: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    S.get_or_init(|| {
        let dir = testdata::scratch::root(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("skbwalk-cli-{}", std::process::id()));
        let (s, _) = write_sample(&dir, SampleSize { stalled_skbs: 100 }).unwrap();
        (s.vmcore, s.vmlinux)
    })
}

fn keys(v: &serde_json::Value, ks: &[&str]) {
    for k in ks {
        assert!(v.get(k).is_some(), "missing key {k} in {v}");
    }
}

#[test]
fn socket_report_json_has_the_contract_keys() {
    let (d, v) = sample();
    let out = run(&[
        "--vmcore",
        d.to_str().unwrap(),
        "--vmlinux",
        v.to_str().unwrap(),
        "--pid",
        "146935",
        "--fd",
        "11",
        "--json",
    ]);
    let r = json(&out);
    keys(
        &r,
        &[
            "pid", "comm", "fd", "sock", "family", "type", "state", "queues", "totals", "skbs",
            "warnings",
        ],
    );
    assert_eq!(r["type"], "SOCK_STREAM");
    assert!(r["sock"].as_str().unwrap().starts_with("0xffff"));
    let q = &r["queues"]["receive"];
    keys(
        q,
        &[
            "skbs",
            "len",
            "truesize",
            "unique_pages",
            "page_bytes",
            "pinned_bytes",
        ],
    );
    keys(
        &r["totals"],
        &[
            "skbs",
            "len",
            "truesize",
            "unique_pages",
            "page_bytes",
            "pinned_bytes",
            "amplification",
        ],
    );
    let skb = &r["skbs"][0];
    keys(
        skb,
        &[
            "addr",
            "queue",
            "len",
            "data_len",
            "truesize",
            "head_frag",
            "nr_frags",
            "frags",
            "pinned_bytes",
        ],
    );
    keys(
        &skb["frags"][0],
        &["page", "head", "order", "offset", "size"],
    );
    assert_eq!(
        r["skbs"].as_array().unwrap().len() as u64,
        r["totals"]["skbs"].as_u64().unwrap()
    );
}

#[test]
fn global_flags_go_before_or_after_the_command() {
    let (d, v) = sample();
    let (d, v) = (d.to_str().unwrap(), v.to_str().unwrap());
    let a = json(&run(&["--vmcore", d, "info", "--json"]));
    let b = json(&run(&["info", "--vmcore", d, "--json", "--vmlinux", v]));
    keys(
        &a,
        &[
            "format",
            "compression",
            "page_size",
            "pages_present",
            "pages_excluded",
            "osrelease",
            "kaslr_offset",
            "phys_base",
            "paging_levels",
        ],
    );
    assert_eq!(a["kaslr_offset"], b["kaslr_offset"]);
    assert_eq!(a["osrelease"], "6.1.0-synthetic");
    let t = json(&run(&[
        "top",
        "-n",
        "2",
        "--vmcore",
        d,
        "--vmlinux",
        v,
        "--json",
    ]));
    keys(&t, &["sockets", "totals", "warnings"]);
    keys(
        &t["totals"],
        &[
            "sockets",
            "skbs",
            "truesize",
            "unique_pages",
            "page_bytes",
            "pinned_bytes",
        ],
    );
    assert_eq!(t["sockets"].as_array().unwrap().len(), 2);
    keys(
        &t["sockets"][0],
        &["pid", "comm", "fd", "sock", "family", "state", "totals"],
    );
    assert_eq!(t["sockets"][0]["pid"], 146935);
}

#[test]
fn human_output_says_synthetic_and_ranks() {
    let (d, v) = sample();
    let out = run(&[
        "--vmcore",
        d.to_str().unwrap(),
        "--vmlinux",
        v.to_str().unwrap(),
        "top",
    ]);
    assert!(out.status.success());
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("SYNTHETIC"), "{s}");
    // One line says what answered: the synthetic vmlinux has DWARF and no BTF.
    assert!(
        s.lines()
            .next()
            .unwrap()
            .starts_with("debuginfo: types from DWARF of ")
            && s.lines()
                .next()
                .unwrap()
                .ends_with("symbols from its .symtab"),
        "{s}"
    );
    assert!(s.lines().nth(3).unwrap().contains("nginx"), "{s}");
    assert!(s.contains("system:"), "{s}");
    // The columns line up: each row's family and state start where the header's do (the
    // kinds pad like strings).
    let lines: Vec<&str> = s.lines().collect();
    let header = lines.iter().position(|l| l.contains(" family ")).unwrap();
    let col = |name: &str| lines[header].find(name).unwrap();
    let rows: Vec<&&str> = lines[header + 1..]
        .iter()
        .take_while(|l| l.contains("AF_"))
        .collect();
    assert!(rows.len() > 2, "{s}");
    for row in rows {
        assert_eq!(row.find("AF_"), Some(col("family")), "{row}\n{s}");
        let state = &row[col("state")..];
        assert!(
            !state.starts_with(' ') && row.as_bytes()[col("state") - 1] == b' ',
            "{row}\n{s}"
        );
    }
}

#[test]
fn exit_codes_and_one_clear_sentence() {
    let (d, v) = sample();
    let (d, v) = (d.to_str().unwrap(), v.to_str().unwrap());
    // 2: bad usage.
    assert_eq!(run(&["info"]).status.code(), Some(2));
    assert_eq!(run(&["--vmcore", d, "--pid", "1"]).status.code(), Some(2));
    assert_eq!(run(&["--vmcore", d, "--vmlinux", v]).status.code(), Some(2));
    assert_eq!(
        run(&["--vmcore", d, "--pid", "1", "--fd", "3", "top"])
            .status
            .code(),
        Some(2)
    );
    // 1: unusable input, named.
    let out = run(&["--vmcore", "/nonexistent/dump", "info"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/dump"));
    let out = run(&["--vmcore", v, "info"]);
    assert_eq!(out.status.code(), Some(1), "a vmlinux is not a dump");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a crash dump"));
    let out = run(&[
        "--vmcore",
        d,
        "--vmlinux",
        v,
        "--pid",
        "146935",
        "--fd",
        "5",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not a socket") && err.contains("access.log"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let out = run(&["--vmcore", d, "--vmlinux", d, "top"]);
    assert_eq!(out.status.code(), Some(1), "a dump is not debuginfo");
}

#[test]
fn meminfo_json_has_the_contract_keys_and_text_reads_like_the_dashboard() {
    let (d, v) = sample();
    let (d, v) = (d.to_str().unwrap(), v.to_str().unwrap());
    let j = json(&run(&["--vmcore", d, "--vmlinux", v, "meminfo", "--json"]));
    keys(
        &j,
        &["page_size", "counters", "breakdown", "complete", "warnings"],
    );
    let b = &j["breakdown"];
    keys(
        b,
        &[
            "total",
            "free",
            "user",
            "kernel",
            "allocpage",
            "lines",
            "stacks_in_vmalloc",
        ],
    );
    keys(
        &b["lines"],
        &[
            "anon",
            "file",
            "shmem",
            "slab_reclaimable",
            "slab_unreclaimable",
            "page_tables",
            "vmalloc",
            "kernel_stack",
            "percpu",
            "hugetlb",
            "kernel_misc_reclaimable",
        ],
    );
    let free = &j["counters"]["NR_FREE_PAGES"];
    keys(free, &["global", "exact"]);
    assert_eq!(
        free["exact"].as_i64().unwrap(),
        free["global"].as_i64().unwrap() - 9,
        "per-CPU deltas -12 and +3"
    );
    let n = |k: &str| b[k].as_i64().unwrap();
    assert_eq!(
        n("total"),
        n("free") + n("user") + n("kernel") + n("allocpage")
    );
    let skb = j["census"]["other"]["skb"].as_i64().unwrap() * 4096;
    assert!(
        skb > 0 && n("allocpage") >= skb,
        "the sample's allocpage holds its skb pages ({skb} bytes): {b}"
    );
    let free = &j["census"]["checks"][0];
    assert_eq!(
        (free["class"].as_str(), free["difference"].as_i64()),
        (Some("free"), Some(0))
    );
    let out = run(&["--vmcore", d, "--vmlinux", v, "meminfo"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for line in ["total (MemTotal)", "free", "user", "kernel", "allocpage"] {
        assert!(text.contains(line), "{line} missing:\n{text}");
    }
}

/// The bundled sample shows the product: `explain` on it is complete, without a warning, and
/// says the seed's sentence with sockstat's and slabtop's figures — non-zero, and far below
/// what the queues pin.
/// `explain --json` on the incident is complete, with no warning, and tells it: nginx's queue,
/// sockstat's (non-zero) tcp mem far below the pages the skbs pin. Returns sockstat's bytes.
fn assert_tells_the_incident(r: &serde_json::Value) -> u64 {
    assert_eq!(r["complete"], true, "{}", r["warnings"]);
    assert_eq!(r["warnings"].as_array().map(Vec::len), Some(0));
    let summary = r["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("The memory is in socket receive and send queues")
            && summary.contains("146935"),
        "{summary}"
    );
    let sockstat = r["sockstat"]["tcp_memory_allocated_bytes"]
        .as_u64()
        .unwrap();
    assert!(sockstat > 0 && r["sockstat"]["tcp_sockets"].as_i64().unwrap() > 0);
    assert!(sockstat < r["skb_pinned_page_bytes"].as_u64().unwrap());
    sockstat
}

#[test]
fn explain_on_the_sample_is_complete_and_tells_the_incident() {
    // the bundled sample's size (./sample.sh), not the smaller one the other tests share
    let dir = testdata::scratch::root(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("skbwalk-cli-sample-{}", std::process::id()));
    let (s, _) = write_sample(&dir, SampleSize::default()).unwrap();
    let (d, v) = (&s.vmcore, &s.vmlinux);
    let out = run(&[
        "--vmcore",
        d.to_str().unwrap(),
        "--vmlinux",
        v.to_str().unwrap(),
        "explain",
        "--json",
        "--strict",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = json(&out);
    assert_tells_the_incident(&r);
    let head = &r["skb_slab"]["skbuff_head_cache"];
    assert!(head["active_objects"].as_u64().unwrap() > 100, "{head}");
    assert!(r["worst_case_bytes"].as_u64().unwrap() > 0);
    std::fs::remove_dir_all(&dir).ok();
}

/// arm64 with 64 KiB pages: `info` names the paging, `explain` tells the incident in the
/// kernel's own page size (sockstat's pages are 64 KiB, the skbs' frag pages order 0).
#[test]
fn arm64_with_64k_pages_info_and_explain() {
    use testdata::sample::{incident_world, write_qemu_elf};
    use testdata::world::WorldConfig;
    let dir = testdata::scratch::root(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("skbwalk-cli-arm64-{}", std::process::id()));
    let k = testdata::synth::SynthKernel::build(&dir.join("kernel"), 5).unwrap();
    let mut w = incident_world(k, WorldConfig::arm64_64k(), SampleSize::default());
    let d = dir.join("vmcore.elf");
    write_qemu_elf(&mut w, &d, true).unwrap();
    let v = w.k.vmlinux.clone();
    let args = |extra: &[&str]| -> Vec<String> {
        let mut a = vec![
            "--vmcore".to_string(),
            d.display().to_string(),
            "--vmlinux".to_string(),
            v.display().to_string(),
        ];
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let run_s = |a: Vec<String>| run(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let info = json(&run_s(args(&["info", "--json"])));
    assert_eq!(info["arch"], "aarch64", "{info}");
    assert_eq!(info["kernel_page_size"], 65536, "{info}");
    assert_eq!(info["va_bits"], 48, "{info}");
    let out = run_s(args(&["explain", "--json", "--strict"]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sockstat = assert_tells_the_incident(&json(&out));
    assert_eq!(sockstat % 65536, 0, "sockstat counts 64 KiB pages");
    std::fs::remove_dir_all(&dir).ok();
}

/// `cgroups`: the memcg tree with exact counters, in text and JSON; nginx's pod names a `sock`
/// counter far below what its socket pins.
#[test]
fn cgroups_shows_each_pod_with_its_exact_counters_and_socket_pins() {
    let (d, v) = sample();
    let base = [
        "--vmcore",
        d.to_str().unwrap(),
        "--vmlinux",
        v.to_str().unwrap(),
    ];
    let mut a = base.to_vec();
    a.extend(["cgroups", "--json", "--strict"]);
    let out = run(&a);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = json(&out);
    assert_eq!(r["complete"], true, "{r}");
    let pod = r["cgroups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"] == testdata::sample::POD_A)
        .unwrap();
    keys(
        pod,
        &[
            "path",
            "depth",
            "memcg",
            "state",
            "memory_current_bytes",
            "stat",
            "counters",
            "charged",
            "charged_subtree",
            "sockets",
            "sockets_subtree",
            "checks",
            "holds_bytes",
        ],
    );
    // the pod's sock counter charges its socket's truesize: far below the pages it pins
    let sock = pod["stat"]["sock"]["exact"].as_u64().unwrap();
    let truesize = pod["sockets"]["truesize"].as_u64().unwrap();
    assert_eq!(sock, truesize.div_ceil(4096) * 4096);
    assert!(pod["sockets"]["pinned_bytes"].as_u64().unwrap() > 2 * sock);
    let mut a = base.to_vec();
    a.push("cgroups");
    let text = String::from_utf8(run(&a).stdout).unwrap();
    assert!(text.contains("cri-containerd-4b2c9a.scope"), "{text}");
    assert!(text.contains(" / "), "{text}");
}

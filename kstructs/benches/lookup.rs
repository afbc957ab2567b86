//! Lookup timing on a real vmlinux (`SKBWALK_VMLINUX`): cold (no cache: index build + every
//! question the walk asks), warm (answers from the layout cache), and drgn's load time of the
//! same file when drgn is importable.

#[path = "../tests/support/walk.rs"]
mod walk;

use std::path::Path;
use std::time::Instant;

use kstructs::Types;

fn ask_all(t: &Types) {
    for (ty, path) in walk::MEMBERS {
        let _ = t.member(ty, path);
    }
    for e in walk::ENUMERATORS {
        t.enumerator(e).expect(e);
    }
    for s in walk::SIZES {
        t.size_of(s).expect(s);
    }
    // the bench's vmlinux is an x86-64 one
    for s in walk::SYMBOLS.iter().chain(walk::X86_64_SYMBOLS) {
        t.symbol(s).expect(s);
    }
}

fn main() {
    let Some(vmlinux) = std::env::var_os("SKBWALK_VMLINUX") else {
        eprintln!("SKBWALK_VMLINUX not set: skipping the lookup bench");
        return;
    };
    let vmlinux = Path::new(&vmlinux);
    let dir = std::env::temp_dir().join(format!("kstructs-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);

    for round in 0..2 {
        let t0 = Instant::now();
        let t = Types::open_with_cache(vmlinux, None).expect("open");
        let t_open = t0.elapsed();
        t.size_of("sk_buff").expect("sk_buff");
        let t_first = t0.elapsed();
        ask_all(&t);
        let t_all = t0.elapsed();
        println!(
            "cold #{round}: open {:.1} ms, first answer (index build) {:.1} ms, all {} questions {:.1} ms",
            t_open.as_secs_f64() * 1e3,
            t_first.as_secs_f64() * 1e3,
            walk::MEMBERS.len() + walk::ENUMERATORS.len() + walk::SIZES.len()
                + walk::SYMBOLS.len()
                + walk::X86_64_SYMBOLS.len(),
            t_all.as_secs_f64() * 1e3
        );
    }

    {
        let t = Types::open_with_cache(vmlinux, Some(&dir)).expect("open");
        ask_all(&t);
        t.save_cache().expect("save");
    }
    for round in 0..3 {
        let t0 = Instant::now();
        let t = Types::open_with_cache(vmlinux, Some(&dir)).expect("open");
        ask_all(&t);
        let el = t0.elapsed();
        assert!(!t.is_index_built(), "warm run built the index");
        println!(
            "warm #{round}: open + all questions {:.2} ms",
            el.as_secs_f64() * 1e3
        );
    }
    let _ = std::fs::remove_dir_all(&dir);

    // The brief's one-liner, then the module API of newer drgn (which ignores files passed to
    // load_debug_info that match no loaded module when there is no core dump).
    let v = format!("{:?}", vmlinux.display().to_string());
    let scripts = [
        format!(
            "import drgn, time; t=time.time(); p=drgn.Program(); p.load_debug_info([{v}]); \
             p.type('struct sk_buff'); print(time.time()-t)"
        ),
        format!(
            "import drgn, time; t=time.time(); p=drgn.Program(drgn.host_platform); \
             m=p.extra_module('vmlinux', 0, create=True); m=m[0] if isinstance(m, tuple) else m; \
             m.try_file({v}, force=True); p.type('struct sk_buff'); print(time.time()-t)"
        ),
    ];
    let mut last = String::from("python3 not found");
    for script in &scripts {
        match std::process::Command::new("python3")
            .args(["-c", script])
            .output()
        {
            Ok(o) if o.status.success() => {
                let s = String::from_utf8_lossy(&o.stdout);
                if let Ok(secs) = s.trim().parse::<f64>() {
                    println!("drgn: load + type('struct sk_buff') {:.1} ms", secs * 1e3);
                    return;
                }
                last = format!("unexpected output {s:?}");
            }
            Ok(o) => {
                last = String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .last()
                    .unwrap_or("")
                    .to_owned()
            }
            Err(e) => last = e.to_string(),
        }
    }
    println!("drgn not usable: {last}");
}

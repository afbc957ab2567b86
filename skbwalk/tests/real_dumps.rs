//! On the real Debian dumps (5.10, 6.1, 6.12, sid) of the real-dump tier (ignored outside it;
//! `./test.sh` runs them with `--include-ignored`): the things the drgn oracle does not cover.
//!
//! `SKBWALK_DUMPS_DIR` names a capture directory made by `testdata/real/make-dumps.sh`.

mod common;
use common::open_kernel;

use std::path::PathBuf;

use skbwalk::{socket_report, Kernel};

use testdata::real_tier::capture;

#[test]
#[ignore = "needs the real-dump tier (SKBWALK_DUMPS_DIR; ./test.sh runs it)"]
fn page_refcounts_equal_the_references_found_but_for_driver_held_pages() {
    let (dir, m) = capture();
    let vmlinux = PathBuf::from(m["kernel"]["vmlinux"].as_str().unwrap());
    let k = open_kernel(&dir.join("A").join("vmcore.elf"), Some(&vmlinux)).unwrap();
    let t = skbwalk::top(&k, Default::default()).unwrap();
    let p = &t.page_refs;
    assert!(p.pages >= 100, "{p:?}");
    assert_eq!((p.fewer_than_found, p.unreadable), (0, 0), "{p:?}");
    // Every frag holds exactly one reference: only pages the driver still uses (its receive ring's
    // posted buffers, its page-frag cache's current page) hold more.
    assert!(p.pages_with_unaccounted * 20 <= p.pages, "{p:?}");
}

/// Every question the walk asks (every command, on every boot) answers the same from the
/// vmlinux's BTF and from the dump's own BTF as from its DWARF.
#[test]
#[ignore = "needs the real-dump tier (SKBWALK_DUMPS_DIR; ./test.sh runs it)"]
fn btf_answers_every_question_of_the_walk_as_dwarf_does() {
    use skbwalk::kernel::OpenOptions;
    use skbwalk::kstructs::{Prefer, Types, TypesFrom};
    let (dir, m) = capture();
    let vmlinux = PathBuf::from(m["kernel"]["vmlinux"].as_str().unwrap());
    let no_cache = Some(None);
    let dwarf_opts = OpenOptions {
        vmlinux: Some(vmlinux.clone()),
        types: Some(TypesFrom::Dwarf),
        cache_dir: no_cache.clone(),
        ..Default::default()
    };
    let k = Kernel::open_with(&dir.join("A").join("vmcore.elf"), &dwarf_opts).unwrap();
    assert_eq!(k.types().debuginfo().types, TypesFrom::Dwarf);
    for s in m["boots"]["A"]["sockets"].as_array().unwrap() {
        let (pid, fd) = (
            s["pid"].as_i64().unwrap() as i32,
            s["fd"].as_u64().unwrap() as u32,
        );
        socket_report(&k, pid, fd).unwrap();
    }
    skbwalk::top(&k, Default::default()).unwrap();
    skbwalk::explain::explain(&k).unwrap();
    let btf = Types::open_as(&vmlinux, None, Prefer::Btf).unwrap();
    let (asked, diffs) = k.types().compare_answers(&btf);
    assert!(asked > 100, "only {asked} questions asked");
    assert!(
        diffs.is_empty(),
        "{asked} questions, {} differ:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
    // The dump's own copy of the BTF, located by its kallsyms (named by VMCOREINFO from 6.0,
    // found in the kernel image before).
    // A kernel without CONFIG_KALLSYMS_ALL (Debian's 6.1 arm64) has no data symbols in its
    // kallsyms: there the dump's BTF is found with the -dbg package's System.map.
    let alone = OpenOptions {
        cache_dir: no_cache.clone(),
        ..Default::default()
    };
    let own = match Kernel::open_with(&dir.join("A").join("vmcore.elf"), &alone) {
        Ok(k) => k,
        Err(e) if e.to_string().contains("CONFIG_KALLSYMS_ALL") => {
            let map = testdata::real_tier::system_map(&vmlinux).expect("the -dbg System.map");
            let with_map = OpenOptions {
                system_map: Some(map),
                ..alone
            };
            Kernel::open_with(&dir.join("A").join("vmcore.elf"), &with_map).unwrap()
        }
        Err(e) => panic!("{e}"),
    };
    assert!(own.types().path().is_none());
    let (asked2, diffs) = k.types().compare_answers(own.types());
    assert_eq!(asked2, asked);
    assert!(
        diffs.is_empty(),
        "{} differ:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
    eprintln!("{asked} questions of the walk: BTF (vmlinux and dump) = DWARF");
}

/// Every command's walk on boot A: each manifest socket, top, explain (meminfo and the census
/// within), the hash tables. Afterwards `k.types` has answered every question the walk asks.
fn walk_everything(k: &Kernel, m: &serde_json::Value) {
    for s in m["boots"]["A"]["sockets"].as_array().unwrap() {
        let (pid, fd) = (
            s["pid"].as_i64().unwrap() as i32,
            s["fd"].as_u64().unwrap() as u32,
        );
        socket_report(k, pid, fd).unwrap();
    }
    skbwalk::top(k, Default::default()).unwrap();
    skbwalk::explain::explain(k).unwrap();
}

/// Every member the walk reads (its own questions, so the list cannot drift from the code), on
/// the real vmlinux's DWARF, at the offset and bit pahole gives.
#[test]
#[ignore = "needs the real-dump tier (SKBWALK_DUMPS_DIR; ./test.sh runs it)"]
fn every_member_the_walk_reads_matches_pahole() {
    use skbwalk::kernel::OpenOptions;
    use skbwalk::kstructs::TypesFrom;
    let (dir, m) = capture();
    let vmlinux = PathBuf::from(m["kernel"]["vmlinux"].as_str().unwrap());
    let opts = OpenOptions {
        vmlinux: Some(vmlinux.clone()),
        types: Some(TypesFrom::Dwarf),
        cache_dir: Some(None),
        ..Default::default()
    };
    let k = Kernel::open_with(&dir.join("A").join("vmcore.elf"), &opts).unwrap();
    walk_everything(&k, &m);
    let members = k.types().members_answered();
    assert!(members.len() > 80, "only {} members", members.len());
    // pahole -C takes struct names: typedefs the walk names (skb_frag_t) by the struct the
    // DWARF says they stand for, from the types of the members found.
    let mut typedefs = std::collections::HashMap::new();
    fn note(t: &skbwalk::kstructs::TypeInfo, out: &mut std::collections::HashMap<String, String>) {
        if let (Some(td), Some(n)) = (&t.typedef, &t.name) {
            out.insert(td.clone(), n.clone());
        }
        match &t.kind {
            skbwalk::kstructs::TypeKind::Array { elem, .. } => note(elem, out),
            skbwalk::kstructs::TypeKind::Pointer { target: Some(t) } => note(t, out),
            _ => {}
        }
    }
    for (_, _, mem) in &members {
        note(&mem.ty, &mut typedefs);
    }
    let struct_of = |t: &str| typedefs.get(t).cloned().unwrap_or_else(|| t.to_string());
    let mut pahole = testdata::pahole::Pahole::new(&vmlinux);
    let names: Vec<String> = members.iter().map(|(t, _, _)| struct_of(t)).collect();
    pahole.load(&names.iter().map(String::as_str).collect::<Vec<_>>());
    let mut wrong = Vec::new();
    for (ty, path, mem) in &members {
        let ours = mem.offset * 8 + mem.bitfield.map_or(0, |b| u64::from(b.bit_offset));
        match pahole.offset(&struct_of(ty), path) {
            Some(bits) if bits == ours => {}
            other => wrong.push(format!(
                "{ty}.{path} (pahole -C {}): ours bit {ours}, pahole {other:?}",
                struct_of(ty)
            )),
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {}:\n{}",
        wrong.len(),
        members.len(),
        wrong.join("\n")
    );
    eprintln!("{} members the walk reads = pahole", members.len());
}

/// The kallsyms decoded from each dump are the vmlinux's `.symtab` symbols, each at its
/// address plus the dump's KASLR offset (per-cpu symbols, absolute, unmoved): every one.
#[test]
#[ignore = "needs the real-dump tier (SKBWALK_DUMPS_DIR; ./test.sh runs it)"]
fn kallsyms_from_the_dump_equal_the_symtab_plus_kaslr() {
    use skbwalk::kstructs::{KallsymsTables, SymbolTable};
    use std::collections::HashSet;
    let (dir, m) = capture();
    let vmlinux = PathBuf::from(m["kernel"]["vmlinux"].as_str().unwrap());
    let symtab = SymbolTable::from_elf(&vmlinux).unwrap();
    let pairs: HashSet<(&str, u64)> = symtab.iter().map(|(n, a, _)| (n, a)).collect();
    for boot in testdata::real_tier::boots(&m, &["A", "B"]) {
        let dump = skbwalk::vmcore::Dump::open(&dir.join(boot).join("vmcore.elf")).unwrap();
        let Some(vi) = dump.vmcoreinfo() else {
            panic!("boot {boot} has VMCOREINFO")
        };
        let kaslr = dump.arch().unwrap().facts().kaslr_offset;
        struct Mem<'a>(&'a skbwalk::vmcore::Dump);
        impl skbwalk::kstructs::Memory for Mem<'_> {
            fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), String> {
                self.0.read_virt(addr, buf).map_err(|e| e.to_string())
            }
        }
        let ks = match KallsymsTables::from_lookup(|n| vi.symbol(n)) {
            Ok(t) => SymbolTable::from_kallsyms(&Mem(&dump), &t, kaslr).unwrap(),
            Err(missing) => {
                // Before 6.0 VMCOREINFO does not export the tables: found in the image.
                assert_eq!(
                    m["kernel"]["generation"].as_str(),
                    Some("5.10"),
                    "{missing}"
                );
                let stext = vi.symbol("_stext").expect("SYMBOL(_stext)");
                SymbolTable::from_kallsyms_in_image(&Mem(&dump), stext, stext, kaslr).unwrap()
            }
        };
        let missing: Vec<String> = ks
            .iter()
            .filter(|(n, a, _)| !pairs.contains(&(*n, *a)))
            .map(|(n, a, k)| format!("{k} {n} {a:#x}"))
            .collect();
        // without CONFIG_KALLSYMS_ALL (no data symbols: Debian's 6.1 arm64) about 45 000
        let least = if ks.lookup("init_task").is_some() {
            50_000
        } else {
            30_000
        };
        assert!(ks.len() > least, "boot {boot}: only {} kallsyms", ks.len());
        assert!(
            missing.is_empty(),
            "boot {boot}: {} of {} kallsyms are not in .symtab at address - KASLR {kaslr:#x}: {:?}",
            missing.len(),
            ks.len(),
            &missing[..missing.len().min(20)]
        );
        eprintln!(
            "boot {boot}: all {} kallsyms = .symtab ({} symbols) + KASLR {kaslr:#x}",
            ks.len(),
            symtab.len()
        );
    }
}

//! The real kernel (gated on `SKBWALK_VMLINUX`): every member, size and enumerator the walk uses,
//! checked against `pahole`'s view of the same file; symbols against the `System.map` beside it.

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use kstructs::Types;
use support::walk;

fn vmlinux() -> Option<PathBuf> {
    match std::env::var_os("SKBWALK_VMLINUX") {
        Some(v) => Some(PathBuf::from(v)),
        None => {
            eprintln!("note: SKBWALK_VMLINUX not set; skipping the real-vmlinux test");
            None
        }
    }
}

/// One member line of pahole's output; offsets are from the start of the printed type.
#[derive(Debug, Clone, Default)]
struct PMember {
    name: Option<String>,
    decl: String,
    offset: u64,
    bit: Option<u64>,
    children: Vec<PMember>,
}

/// A type as pahole prints it.
#[derive(Debug, Default)]
struct PType {
    members: Vec<PMember>,
    size: Option<u64>,
    enumerators: HashMap<String, i64>,
}

fn parse_comment(line: &str) -> Option<(u64, Option<u64>)> {
    let c = line.rsplit_once("/*")?.1.split_once("*/")?.0;
    let mut it = c.split_whitespace();
    let first = it.next()?;
    if let Some(off) = first.strip_suffix(':') {
        return Some((off.parse().ok()?, Some(it.next()?.parse().ok()?)));
    }
    if let Some((off, bit)) = first.split_once(':') {
        return Some((off.parse().ok()?, Some(bit.parse().ok()?)));
    }
    Some((first.parse().ok()?, None))
}

fn ident_before(decl: &str) -> Option<String> {
    let mut d = decl;
    if let Some(i) = d.find("__attribute__") {
        d = &d[..i];
    }
    let d = d.split(':').next()?.trim();
    let d = d.split('[').next()?.trim();
    let name: String = d
        .chars()
        .rev()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    (!name.is_empty()).then_some(name)
}

fn parse_pahole(text: &str) -> HashMap<String, PType> {
    let mut out = HashMap::new();
    let mut cur: Option<(String, PType)> = None;
    let mut stack: Vec<Vec<PMember>> = Vec::new();
    for raw in text.lines() {
        let line = raw.trim();
        if cur.is_none() {
            for kw in ["struct ", "union ", "enum "] {
                if let Some(rest) = line.strip_prefix(kw) {
                    if let Some(name) = rest.strip_suffix(" {") {
                        cur = Some((name.to_owned(), PType::default()));
                        stack = vec![Vec::new()];
                    }
                }
            }
            continue;
        }
        let (_, t) = cur.as_mut().unwrap();
        if line.starts_with("/* size:") {
            t.size = line
                .trim_start_matches("/* size:")
                .split(',')
                .next()
                .and_then(|s| s.trim().parse().ok());
            continue;
        }
        if line.starts_with("/*") || line.is_empty() {
            continue;
        }
        if line.ends_with('{') {
            stack.push(Vec::new());
            continue;
        }
        if let Some(rest) = line.strip_prefix('}') {
            if stack.len() == 1 {
                // End of the type.
                let (name, mut t) = cur.take().unwrap();
                t.members = stack.pop().unwrap();
                out.insert(name, t);
                continue;
            }
            let children = stack.pop().unwrap();
            let name = rest.split(';').next().and_then(ident_before);
            let (offset, _) = parse_comment(line).unwrap_or((0, None));
            stack.last_mut().unwrap().push(PMember {
                name,
                decl: String::new(),
                offset,
                bit: None,
                children,
            });
            continue;
        }
        if let Some((name, value)) = line.trim_end_matches(',').split_once('=') {
            if let Ok(v) = value.trim().parse::<i64>() {
                t.enumerators.insert(name.trim().to_owned(), v);
                continue;
            }
        }
        let Some((decl, _)) = line.split_once(';') else {
            continue;
        };
        let Some((offset, bit)) = parse_comment(line) else {
            continue;
        };
        stack.last_mut().unwrap().push(PMember {
            name: ident_before(decl),
            decl: decl.to_owned(),
            offset,
            bit,
            children: Vec::new(),
        });
    }
    out
}

struct Pahole {
    vmlinux: PathBuf,
    types: HashMap<String, PType>,
}

impl Pahole {
    fn load(&mut self, names: &[&str]) {
        let want: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| !self.types.contains_key(*n))
            .collect();
        if want.is_empty() {
            return;
        }
        let out = Command::new("pahole")
            .arg("-C")
            .arg(want.join(","))
            .arg(&self.vmlinux)
            .output()
            .expect("pahole (Debian package pahole/dwarves) must be installed");
        assert!(out.status.success(), "pahole failed: {out:?}");
        self.types
            .extend(parse_pahole(&String::from_utf8_lossy(&out.stdout)));
    }

    fn find<'a>(members: &'a [PMember], name: &str) -> Option<&'a PMember> {
        for m in members {
            match &m.name {
                Some(n) if n == name => return Some(m),
                Some(_) => {}
                None => {
                    if let Some(f) = Self::find(&m.children, name) {
                        return Some(f);
                    }
                }
            }
        }
        None
    }

    /// (byte offset, bit offset within it) of a dotted path, per pahole.
    fn offset(&mut self, ty: &str, path: &str) -> Option<u64> {
        self.load(&[ty]);
        let mut members = self.types.get(ty)?.members.clone();
        let mut base = 0;
        let comps: Vec<&str> = path.split('.').collect();
        for (i, c) in comps.iter().enumerate() {
            let m = Self::find(&members, c)?.clone();
            if i + 1 == comps.len() {
                return Some((base + m.offset) * 8 + m.bit.unwrap_or(0));
            }
            if !m.children.is_empty() {
                members = m.children;
                continue;
            }
            let tname = m
                .decl
                .trim()
                .trim_start_matches("struct ")
                .trim_start_matches("union ")
                .split_whitespace()
                .next()?
                .to_owned();
            base += m.offset;
            self.load(&[tname.as_str()]);
            members = self.types.get(&tname)?.members.clone();
        }
        None
    }
}

fn system_map(vmlinux: &Path) -> Option<PathBuf> {
    let name = vmlinux.file_name()?.to_str()?;
    let release = name.strip_prefix("vmlinux-")?;
    let p = vmlinux.with_file_name(format!("System.map-{release}"));
    p.exists().then_some(p)
}

#[test]
fn walk_members_match_pahole() {
    let Some(v) = vmlinux() else { return };
    let types = Types::open_with_cache(&v, None).expect("open vmlinux");
    assert!(types.build_id().is_some_and(|b| b.len() >= 16));
    let mut pahole = Pahole {
        vmlinux: v.clone(),
        types: HashMap::new(),
    };
    let names: Vec<&str> = walk::MEMBERS.iter().map(|(t, _)| *t).collect();
    pahole.load(&names);
    let mut checked = 0;
    let mut failures = Vec::new();
    for (ty, path) in walk::MEMBERS {
        let expect = pahole.offset(ty, path);
        let got = types.member(ty, path);
        match (expect, &got) {
            (Some(bits), Ok(m)) => {
                let ours = m.offset * 8 + m.bitfield.map_or(0, |b| u64::from(b.bit_offset));
                if ours != bits {
                    failures.push(format!("{ty}.{path}: ours {ours} bits, pahole {bits}"));
                }
                checked += 1;
            }
            (None, Err(_)) => eprintln!("note: {ty}.{path} absent in this kernel (both agree)"),
            (e, g) => failures.push(format!("{ty}.{path}: pahole {e:?}, ours {g:?}")),
        }
    }
    assert!(failures.is_empty(), "mismatches:\n{}", failures.join("\n"));
    assert!(checked >= walk::MEMBERS.len() - 4, "only {checked} checked");

    // Shapes the walk relies on.
    let frags = types.member("skb_shared_info", "frags").unwrap();
    match &frags.ty.kind {
        kstructs::TypeKind::Array { elem, count } => {
            // 4.19 skb_frag_struct, 5.4-6.3 bio_vec, 6.4+ skb_frag (netmem from 6.12)
            assert!(
                matches!(
                    elem.name.as_deref(),
                    Some("bio_vec" | "skb_frag" | "skb_frag_struct")
                ),
                "frag type {:?}",
                elem.name
            );
            assert_eq!(*count, Some(17), "MAX_SKB_FRAGS");
            assert_eq!(frags.ty.size, 17 * elem.size);
            assert_eq!(types.size_of("skb_frag_t").unwrap(), elem.size);
        }
        k => panic!("frags is {k:?}"),
    }
    for bf in ["head_frag", "cloned", "fclone"] {
        assert!(
            types.member("sk_buff", bf).unwrap().bitfield.is_some(),
            "{bf}"
        );
    }

    // Sizes.
    pahole.load(walk::SIZES);
    for s in ["sk_buff", "skb_shared_info", "page"] {
        assert_eq!(
            Some(types.size_of(s).unwrap()),
            pahole.types[s].size,
            "sizeof {s}"
        );
    }

    // Enumerators: the named enum against pahole, the anonymous ones for their shape.
    pahole.load(&["pageflags"]);
    let pg_head = pahole.types["pageflags"].enumerators["PG_head"];
    assert_eq!(types.enumerator("PG_head").unwrap(), pg_head);
    assert_eq!(types.enum_value("pageflags", "PG_head").unwrap(), pg_head);
    let vals: Vec<i64> = walk::ENUMERATORS
        .iter()
        .map(|e| types.enumerator(e).unwrap())
        .collect();
    let tcp = &vals[1..13];
    assert!(
        tcp.windows(2).all(|w| w[1] == w[0] + 1),
        "TCP states {tcp:?}"
    );
    let ss = &vals[13..];
    assert_eq!(ss, &[0, 1, 2, 3, 4], "SS_*: SS_FREE = 0 and consecutive");

    // Symbols, against System.map when it is beside the vmlinux.
    for s in walk::SYMBOLS {
        types.symbol(s).unwrap();
    }
    if let Some(map) = system_map(&v) {
        let from_map = Types::open_with_cache(&v, None)
            .unwrap()
            .with_system_map(&map)
            .unwrap();
        for s in walk::SYMBOLS {
            assert_eq!(types.symbol(s).unwrap(), from_map.symbol(s).unwrap(), "{s}");
        }
    } else {
        eprintln!("note: no System.map beside the vmlinux; symbols not cross-checked");
    }
    let ops = types.symbol("socket_file_ops").unwrap();
    assert_eq!(types.symbol_at(ops + 8), Some(("socket_file_ops", 8)));
    let banner = types.symbol("linux_banner").unwrap();
    let bytes = types.static_bytes(banner, 14).expect("linux_banner bytes");
    assert_eq!(bytes, b"Linux version ");
    let uts = types.symbol("init_uts_ns").unwrap();
    let name_off = types
        .member("uts_namespace", "name.release")
        .unwrap()
        .offset;
    let release = types
        .static_bytes(uts + name_off, 65)
        .expect("init_uts_ns bytes");
    let release = String::from_utf8_lossy(release.split(|&b| b == 0).next().unwrap());
    assert!(
        v.to_string_lossy().ends_with(&*release),
        "release {release} vs {}",
        v.display()
    );
}

#[test]
fn warm_cache_answers_without_index() {
    let Some(v) = vmlinux() else { return };
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("kstructs-real-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cold: Vec<_> = {
        let t = Types::open_with_cache(&v, Some(&dir)).unwrap();
        let r = walk::MEMBERS
            .iter()
            .map(|(ty, p)| t.member(ty, p).ok())
            .collect();
        assert!(t.is_index_built());
        t.save_cache().unwrap();
        r
    };
    let t = Types::open_with_cache(&v, Some(&dir)).unwrap();
    let warm: Vec<_> = walk::MEMBERS
        .iter()
        .map(|(ty, p)| t.member(ty, p).ok())
        .collect();
    assert_eq!(cold, warm);
    assert!(!t.is_index_built(), "the warm run read the DWARF");
    let _ = std::fs::remove_dir_all(&dir);
}

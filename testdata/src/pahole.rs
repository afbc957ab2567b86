//! pahole's view of a vmlinux (its `-C` output parsed), the independent reading of the DWARF
//! that the real-kernel tests check the walk's layouts against. Needs `pahole` (dwarves).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One member line of pahole's output; offsets are from the start of the printed type.
#[derive(Debug, Clone, Default)]
pub struct PMember {
    /// The member's name (`None`: an anonymous struct or union).
    pub name: Option<String>,
    /// Its declaration as printed.
    pub decl: String,
    /// Byte offset from the start of the printed type.
    pub offset: u64,
    /// Bit offset within that byte, for bitfields.
    pub bit: Option<u64>,
    /// Members of an anonymous struct or union printed inline.
    pub children: Vec<PMember>,
}

/// A type as pahole prints it.
#[derive(Debug, Default)]
pub struct PType {
    /// Its members, in order.
    pub members: Vec<PMember>,
    /// `/* size: N */`.
    pub size: Option<u64>,
    /// Enumerators, for an enum.
    pub enumerators: HashMap<String, i64>,
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

/// Parse `pahole -C` output into its types.
pub fn parse_pahole(text: &str) -> HashMap<String, PType> {
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

/// pahole's view of one vmlinux, loaded type by type.
pub struct Pahole {
    vmlinux: PathBuf,
    /// The types loaded so far.
    pub types: HashMap<String, PType>,
}

impl Pahole {
    /// pahole on `vmlinux` (nothing read yet).
    pub fn new(vmlinux: &Path) -> Pahole {
        Pahole {
            vmlinux: vmlinux.to_path_buf(),
            types: HashMap::new(),
        }
    }

    /// Load the types `names` (one pahole run for all that are not loaded yet).
    pub fn load(&mut self, names: &[&str]) {
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

    /// Bit position of a dotted member path from the start of `ty`, per pahole.
    pub fn offset(&mut self, ty: &str, path: &str) -> Option<u64> {
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

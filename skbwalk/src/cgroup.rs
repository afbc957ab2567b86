//! A task's cgroup: its path on the default (v2) hierarchy, as `/proc/PID/cgroup`'s `0::` line
//! gives it (`/kubepods.slice/…/cri-containerd-<id>.scope`), so that a holder is named with its
//! container or pod.
//!
//! `task_struct.cgroups` is the task's `css_set`, whose `dfl_cgrp` is its cgroup on the default
//! hierarchy; the cgroup's `kn` (its kernfs directory) and the chain of `kernfs_node` parents up
//! to the root (`parent`, `__parent` from 6.15) give the path, the root's own name left out. A
//! machine that mounts only v1 hierarchies keeps every task in the default hierarchy's root: its
//! path is `/`.

use std::collections::HashMap;
use std::sync::Arc;

use kstructs::Types;

use crate::links::{Chain, Stop};
use crate::warnings::{WarningKind, Warnings};
use crate::Kernel;

/// Deepest cgroup nesting followed (the kernel's `cgroup.max.depth` is unlimited by default;
/// real hierarchies are a handful of levels).
const MAX_DEPTH: usize = 256;
/// Longest kernfs name read (`NAME_MAX`).
const MAX_NAME: usize = 255;

/// Where the path's links are.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CgroupLayout {
    task_cgroups: u64,
    dfl_cgrp: u64,
    kn: u64,
    parent: u64,
    name: u64,
}

impl CgroupLayout {
    /// The members the path needs, or the one this kernel's debuginfo lacks (a kernel built
    /// without `CONFIG_CGROUPS`).
    pub(crate) fn resolve(t: &Types) -> std::result::Result<CgroupLayout, Arc<kstructs::Error>> {
        let m = |ty: &str, p: &str| t.member(ty, p).map(|m| m.offset).map_err(Arc::new);
        Ok(CgroupLayout {
            task_cgroups: m("task_struct", "cgroups")?,
            dfl_cgrp: m("css_set", "dfl_cgrp")?,
            kn: m("cgroup", "kn")?,
            parent: m("kernfs_node", "parent").or_else(|_| m("kernfs_node", "__parent"))?,
            name: m("kernfs_node", "name")?,
        })
    }
}

/// cgroup paths of tasks, each `css_set` read once.
pub(crate) struct CgroupPaths<'k> {
    k: &'k Kernel,
    layout: Option<CgroupLayout>,
    by_css_set: HashMap<u64, Option<Arc<str>>>,
}

impl<'k> CgroupPaths<'k> {
    /// Paths on `k` (none where its debuginfo has no cgroups).
    pub(crate) fn new(k: &'k Kernel) -> Self {
        CgroupPaths {
            k,
            layout: k.off().ok().and_then(|o| o.cgroup.as_ref().ok().copied()),
            by_css_set: HashMap::new(),
        }
    }

    /// The cgroup path of the task at `task`; `None` (with a warning when memory was at fault)
    /// where it cannot be read, or the kernel has no cgroups.
    pub(crate) fn of_task(&mut self, task: u64, w: &mut Warnings) -> Option<Arc<str>> {
        let l = self.layout?;
        let k = self.k;
        let css_set = match k.u64(task.wrapping_add(l.task_cgroups), "task_struct.cgroups") {
            Ok(c) => c,
            Err(e) => {
                w.push(
                    WarningKind::of(&e),
                    Some(task),
                    format!("cgroup of the task at {task:#x}: {e}"),
                );
                return None;
            }
        };
        if let Some(p) = self.by_css_set.get(&css_set) {
            return p.clone();
        }
        let path = match path_of(k, &l, css_set) {
            Ok(p) => Some(Arc::<str>::from(p)),
            Err(stop) => {
                let why = stop.why();
                let at = stop.addr().unwrap_or(css_set);
                w.push(
                    stop.kind(),
                    Some(at),
                    format!("cgroup of the task at {task:#x}: css_set at {css_set:#x}: {why}"),
                );
                None
            }
        };
        self.by_css_set.insert(css_set, path.clone());
        path
    }
}

/// The path of the default-hierarchy cgroup of `css_set`, or why the links to it stop: each link
/// (the `css_set`, its cgroup, every kernfs node up to the root) is admitted by the walk's one
/// link rule ([`Chain::admit`]: a kernel pointer, not met before, within the depth bound).
fn path_of(k: &Kernel, l: &CgroupLayout, css_set: u64) -> std::result::Result<String, Stop> {
    let mut chain = Chain::new(k.space(), MAX_DEPTH + 2, 8);
    chain.admit(css_set)?;
    let cgrp = k
        .u64(css_set + l.dfl_cgrp, "css_set.dfl_cgrp")
        .map_err(Stop::Unreadable)?;
    path_in(k, l, cgrp, chain)
}

/// The path of the cgroup at `cgrp` (a memcg's `css.cgroup`), or why its links stop.
pub(crate) fn cgroup_path(k: &Kernel, cgrp: u64) -> std::result::Result<String, Stop> {
    let l = k
        .off()
        .ok()
        .and_then(|o| o.cgroup.as_ref().ok().copied())
        .ok_or(Stop::Bad(cgrp))?;
    path_in(k, &l, cgrp, Chain::new(k.space(), MAX_DEPTH + 1, 8))
}

fn path_in(
    k: &Kernel,
    l: &CgroupLayout,
    cgrp: u64,
    mut chain: Chain,
) -> std::result::Result<String, Stop> {
    let read = |addr: u64, what: &str| k.u64(addr, what).map_err(Stop::Unreadable);
    chain.admit(cgrp)?;
    let mut kn = read(cgrp + l.kn, "cgroup.kn")?;
    let mut names = Vec::new();
    loop {
        chain.admit(kn)?;
        let parent = read(kn + l.parent, "kernfs_node.parent")?;
        if parent == 0 {
            break; // the root, whose own name is not part of the path
        }
        let name = read(kn + l.name, "kernfs_node.name")?;
        names.push(
            k.cstr(name, MAX_NAME + 1, "kernfs_node.name")
                .map_err(Stop::Unreadable)?,
        );
        kn = parent;
    }
    names.reverse();
    Ok(format!("/{}", names.join("/")))
}

//! The kernel globals the walk reads, with their types.
//!
//! BTF describes every type but, of the variables, only the per-cpu ones, so a global's type
//! cannot be asked of it: this table is where the walk's globals get theirs. Each entry is the
//! type as BTF and DWARF spell it (`long unsigned int`, `struct list_head`; arrays as `T[]`,
//! qualifiers dropped). `Kernel::global` reads only names listed here, and a real-kernel test
//! proves every entry against the DWARF of 5.10, 6.1 and 6.12.

/// One global variable the walk reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Global {
    /// The symbol.
    pub name: &'static str,
    /// Its C type, as BTF/DWARF name it.
    pub ty: &'static str,
    /// Kernels where it does not exist (by configuration or version), or `""`.
    pub absent: &'static str,
}

const fn g(name: &'static str, ty: &'static str, absent: &'static str) -> Global {
    Global { name, ty, absent }
}

/// Every global variable the walk reads, by name.
pub(crate) const GLOBALS: &[Global] = &[
    g("init_task", "struct task_struct", ""),
    g("init_uts_ns", "struct uts_namespace", ""),
    g("linux_banner", "char[]", ""),
    g("page_offset_base", "long unsigned int", "arm64"),
    g("vmemmap_base", "long unsigned int", "arm64"),
    g("vmalloc_base", "long unsigned int", "arm64"),
    g("max_pfn", "long unsigned int", ""),
    g("min_low_pfn", "long unsigned int", ""),
    g("nr_cpu_ids", "unsigned int", ""),
    g("nr_node_ids", "unsigned int", ""),
    g("__cpu_online_mask", "struct cpumask", ""),
    g("__cpu_possible_mask", "struct cpumask", ""),
    g("__per_cpu_offset", "long unsigned int[]", ""),
    g("pcpu_nr_units", "int", ""),
    g("pcpu_unit_size", "int", ""),
    g("ftrace_trace_arrays", "struct list_head", ""),
    g("init_net", "struct net", ""),
    g("modules", "struct list_head", ""),
    g(
        "btf_modules",
        "struct list_head",
        "kernels without module BTF (before 5.11, or CONFIG_DEBUG_INFO_BTF_MODULES off)",
    ),
    g("node_data", "struct pglist_data *[]", ""),
    g("contig_page_data", "struct pglist_data", "NUMA kernels"),
    g("slab_caches", "struct list_head", ""),
    g("hstates", "struct hstate[]", ""),
    g("hugetlb_max_hstate", "int", ""),
    g("vmap_area_list", "struct list_head", "6.9 and later"),
    g("vmap_nodes", "struct vmap_node *", "before 6.9"),
    g("nr_vmap_nodes", "unsigned int", "before 6.9"),
    g("tcp_hashinfo", "struct inet_hashinfo", ""),
    g("udp_table", "struct udp_table", ""),
    g("tcp_sockets_allocated", "struct percpu_counter", ""),
    g("sysctl_nr_open", "unsigned int", ""),
    g("socket_file_ops", "struct file_operations", ""),
    g("pipefifo_fops", "struct file_operations", ""),
    g("perf_fops", "struct file_operations", ""),
    g("io_uring_fops", "struct file_operations", ""),
    g("root_mem_cgroup", "struct mem_cgroup *", ""),
];

/// Linker and assembler labels the walk uses as addresses only (no C type).
pub(crate) const LABELS: &[&str] = &["_text", "init_top_pgt", "__start_BTF", "__stop_BTF"];

/// The labels x86-64 kernels alone have (arm64's page tables are `swapper_pg_dir`).
#[cfg(test)]
const X86_64_LABELS: &[&str] = &["init_top_pgt"];

/// The table entry for `name`.
pub(crate) fn global(name: &str) -> Option<&'static Global> {
    GLOBALS.iter().find(|g| g.name == name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn entries_are_found_by_name() {
        assert_eq!(super::global("max_pfn").unwrap().ty, "long unsigned int");
        assert!(super::global("no_such_global").is_none());
    }

    /// `globals::GLOBALS` (where the walk's globals get their types, BTF having none for them)
    /// says what the real kernel's DWARF says of each variable, and each exists unless the table
    /// says on which kernels it does not.
    #[test]
    #[ignore = "needs the real-dump tier (SKBWALK_DUMPS_DIR; ./test.sh runs it)"]
    fn the_globals_table_agrees_with_dwarf() {
        use super::{GLOBALS, LABELS, X86_64_LABELS};
        use crate::kstructs::{Prefer, TypeInfo, TypeKind, Types};
        fn c_type(t: &TypeInfo) -> String {
            let name = t.name.clone().unwrap_or_default();
            match &t.kind {
                TypeKind::Struct => format!("struct {name}"),
                TypeKind::Union => format!("union {name}"),
                TypeKind::Enum => format!("enum {name}"),
                TypeKind::Base { .. } => name,
                TypeKind::Void => "void".into(),
                TypeKind::Function => "function".into(),
                TypeKind::Pointer { target } => {
                    format!("{} *", target.as_deref().map_or("void".into(), c_type))
                }
                TypeKind::Array { elem, .. } => format!("{}[]", c_type(elem)),
            }
        }
        let (_, m) = testdata::real_tier::capture();
        let vmlinux = std::path::PathBuf::from(m["kernel"]["vmlinux"].as_str().unwrap());
        let t = Types::open_as(&vmlinux, None, Prefer::Dwarf).unwrap();
        let arm64 = m["kernel"]["generation"]
            .as_str()
            .is_some_and(|g| g.starts_with("arm64-"));
        // an x86-64 global is absent on arm64 only; a version's absence on any architecture
        let arch_absent = GLOBALS.iter().filter(|g| g.absent == "arm64").count();
        let mut checked = 0;
        let mut wrong = Vec::new();
        for g in GLOBALS {
            // x86-64's globals are not read on arm64 (where an unrelated static may bear the
            // name: arm64's vmemmap_base)
            if arm64 && g.absent == "arm64" {
                continue;
            }
            match t.variable_type(g.name) {
                Ok(ty) => {
                    assert!(
                        t.symbol(g.name).is_ok(),
                        "{} has a type but no symbol",
                        g.name
                    );
                    if c_type(&ty) != g.ty {
                        wrong.push(format!(
                            "{}: table {:?}, DWARF {:?}",
                            g.name,
                            g.ty,
                            c_type(&ty)
                        ));
                    }
                    checked += 1;
                }
                Err(e) => assert!(
                    !g.absent.is_empty() && g.absent != "arm64",
                    "{}: {e}",
                    g.name
                ),
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
        // absent: at most the globals the table says some kernels lack (vmap_area_list or
        // vmap_nodes, contig_page_data, virtio_bus, …), each allowed above only with its note
        let versioned = GLOBALS
            .iter()
            .filter(|g| !g.absent.is_empty() && g.absent != "arm64")
            .count();
        let allowed = versioned + if arm64 { arch_absent } else { 0 };
        assert!(checked >= GLOBALS.len() - allowed, "only {checked} checked");
        for l in LABELS
            .iter()
            .filter(|l| !arm64 || !X86_64_LABELS.contains(l))
        {
            assert!(t.symbol(l).is_ok(), "label {l}");
        }
        eprintln!("{checked} globals' types = DWARF");
    }
}

//! Fixture builders for skbwalk's tests.
//!
//! Everything a test reads is made here by code: physical images with page tables, ELF and
//! kdump-compressed dump writers, synthetic kernels compiled from C with DWARF, and the scripts
//! of the real-dump tier (`testdata/real/`).
#![deny(missing_docs)]

pub mod btf_writer;
pub mod cc;
pub mod census_machine;
pub mod elf_writer;
pub mod kallsyms_writer;
pub mod kcore_writer;
pub mod kdump_writer;
pub mod memcg;
pub mod pagetables;
pub mod pahole;
pub mod phys;
pub mod real_tier;
pub mod sample;
pub mod scale;
pub mod scratch;
pub mod synth;
pub mod vmstat;
pub mod world;

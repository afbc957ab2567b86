//! VMCOREINFO: the `KEY=VALUE` lines the kernel exports for dump tools (`kernel/crash_core.c`).

use std::collections::BTreeMap;

/// Parsed VMCOREINFO: typed fields for what translation needs, and every entry kept by key.
///
/// Number formats follow `kernel/crash_core.c`: `SYMBOL(x)` and `KERNELOFFSET` are hex without `0x`,
/// `NUMBER(x)`, `SIZE(x)`, `OFFSET(x)`, `LENGTH(x)` and `PAGESIZE` are decimal.
#[derive(Debug, Clone, Default)]
pub struct VmcoreInfo {
    /// `OSRELEASE`, e.g. `6.1.0-27-cloud-amd64`.
    pub osrelease: Option<String>,
    /// `BUILD-ID` as hex text.
    pub build_id: Option<String>,
    /// `PAGESIZE`.
    pub page_size: Option<u64>,
    /// `KERNELOFFSET`: the KASLR displacement of the kernel image.
    pub kernel_offset: Option<u64>,
    /// `NUMBER(phys_base)`.
    pub phys_base: Option<u64>,
    /// `NUMBER(pgtable_l5_enabled)`.
    pub pgtable_l5: Option<bool>,
    /// Every `KEY=VALUE` line, in the order of the text (duplicates keep the last value).
    pub entries: BTreeMap<String, String>,
    /// Lines of the keys above whose value is not a number of the expected base (the field is
    /// then `None`, never a guess).
    pub warnings: Vec<String>,
}

impl VmcoreInfo {
    /// Parse the note's text; lines without `=` are ignored, trailing NULs allowed.
    pub fn parse(text: &[u8]) -> Self {
        let text = String::from_utf8_lossy(text);
        let mut info = VmcoreInfo::default();
        for line in text.lines() {
            let line = line.trim_end_matches('\0');
            if let Some((k, v)) = line.split_once('=') {
                info.entries.insert(k.to_string(), v.to_string());
            }
        }
        for key in [
            "PAGESIZE",
            "NUMBER(phys_base)",
            "NUMBER(pgtable_l5_enabled)",
        ] {
            if info.entries.contains_key(key) && info.decimal(key).is_none() {
                info.warnings.push(format!(
                    "{key}={:?} is not a decimal number; ignored",
                    info.entries[key]
                ));
            }
        }
        if info.entries.contains_key("KERNELOFFSET") && info.hex("KERNELOFFSET").is_none() {
            info.warnings.push(format!(
                "KERNELOFFSET={:?} is not a hex number; ignored",
                info.entries["KERNELOFFSET"]
            ));
        }
        info.osrelease = info.entries.get("OSRELEASE").cloned();
        info.build_id = info.entries.get("BUILD-ID").cloned();
        info.page_size = info.decimal("PAGESIZE");
        info.kernel_offset = info.hex("KERNELOFFSET");
        info.phys_base = info.number("phys_base");
        info.pgtable_l5 = info.number("pgtable_l5_enabled").map(|v| v != 0);
        info
    }

    fn decimal(&self, key: &str) -> Option<u64> {
        let v = self.entries.get(key)?;
        // NUMBER() is printed with %ld: negative values exist (e.g. NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE));
        // arm64 prints its own with 0x%llx (NUMBER(kimage_voffset), NUMBER(PHYS_OFFSET)).
        if let Some(h) = v.strip_prefix("0x") {
            return u64::from_str_radix(h, 16).ok();
        }
        v.parse::<u64>()
            .ok()
            .or_else(|| v.parse::<i64>().ok().map(|x| x as u64))
    }

    fn hex(&self, key: &str) -> Option<u64> {
        let v = self.entries.get(key)?;
        u64::from_str_radix(v.trim_start_matches("0x"), 16).ok()
    }

    /// The KASLR displacement: `KERNELOFFSET`, 0 without the line (a kernel without KASLR
    /// support); a line that does not parse is an error, never a reason to assume 0.
    pub fn kaslr_offset(&self) -> crate::Result<u64> {
        match (self.kernel_offset, self.entries.get("KERNELOFFSET")) {
            (Some(o), _) => Ok(o),
            (None, None) => Ok(0),
            (None, Some(v)) => Err(crate::Error::Malformed {
                what: "VMCOREINFO",
                reason: format!("KERNELOFFSET={v:?} is not a hex number"),
            }),
        }
    }

    /// `SYMBOL(name)`: a runtime (KASLR-applied) address.
    pub fn symbol(&self, name: &str) -> Option<u64> {
        self.hex(&format!("SYMBOL({name})"))
    }

    /// `NUMBER(name)`.
    pub fn number(&self, name: &str) -> Option<u64> {
        self.decimal(&format!("NUMBER({name})"))
    }

    /// `OFFSET(name)`, e.g. `offset("page.compound_head")`.
    pub fn offset(&self, name: &str) -> Option<u64> {
        self.decimal(&format!("OFFSET({name})"))
    }

    /// `SIZE(name)`.
    pub fn size(&self, name: &str) -> Option<u64> {
        self.decimal(&format!("SIZE({name})"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kernel_formats() {
        let text = b"OSRELEASE=6.1.0-27-cloud-amd64\nBUILD-ID=abcd\nPAGESIZE=4096\n\
SYMBOL(init_top_pgt)=ffffffff9e40a000\nNUMBER(phys_base)=-1073741824\nKERNELOFFSET=1c000000\n\
NUMBER(pgtable_l5_enabled)=0\nOFFSET(page.compound_head)=8\nSIZE(page)=64\nNUMBER(PG_head_mask)=65536\n\0\0";
        let v = VmcoreInfo::parse(text);
        assert_eq!(v.osrelease.as_deref(), Some("6.1.0-27-cloud-amd64"));
        assert_eq!(v.page_size, Some(4096));
        assert_eq!(v.kernel_offset, Some(0x1c000000));
        assert_eq!(v.phys_base, Some((-1073741824i64) as u64));
        assert_eq!(v.pgtable_l5, Some(false));
        assert_eq!(v.symbol("init_top_pgt"), Some(0xffffffff9e40a000));
        assert_eq!(v.offset("page.compound_head"), Some(8));
        assert_eq!(v.size("page"), Some(64));
        assert_eq!(v.number("PG_head_mask"), Some(65536));
        assert_eq!(v.symbol("missing"), None);
    }

    #[test]
    fn unparsable_values_are_warnings_not_zero() {
        let v = VmcoreInfo::parse(
            b"OSRELEASE=6.1.0\nKERNELOFFSET=zzzz\nPAGESIZE=lots\nNUMBER(phys_base)=x\n",
        );
        assert_eq!(v.kernel_offset, None, "KERNELOFFSET=zzzz read as a number");
        assert_eq!(v.page_size, None);
        assert_eq!(v.phys_base, None);
        for what in ["KERNELOFFSET", "PAGESIZE", "phys_base"] {
            assert!(
                v.warnings.iter().any(|w| w.contains(what)),
                "{what}: {:?}",
                v.warnings
            );
        }
        // and the layout from it is refused rather than guessed
        assert!(crate::x86_64::KernelLayout::from_vmcoreinfo(&v).is_err());
    }
}

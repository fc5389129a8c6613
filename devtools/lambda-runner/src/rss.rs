//! Peak resident memory of a process, read from Linux's `/proc/<pid>/status`.

/// The `VmHWM` line (peak resident set size) of a `/proc/<pid>/status` text, in KiB.
pub fn parse_vm_hwm_kib(status: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let rest = line.strip_prefix("VmHWM:")?;
        let mut fields = rest.split_whitespace();
        let value = fields.next()?.parse().ok()?;
        (fields.next() == Some("kB")).then_some(value)
    })
}

/// Peak RSS of a live process; `None` where `/proc` is missing (not Linux) or the process is gone.
pub(crate) fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_vm_hwm_kib(&status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_vm_hwm_line() {
        let status = "Name:\techo\nVmPeak:\t  20000 kB\nVmHWM:\t    4312 kB\nVmRSS:\t    4100 kB\n";
        assert_eq!(parse_vm_hwm_kib(status), Some(4312));
    }

    #[test]
    fn missing_or_malformed_lines_give_none() {
        assert_eq!(parse_vm_hwm_kib("Name:\techo\nVmRSS:\t 4100 kB\n"), None);
        assert_eq!(parse_vm_hwm_kib("VmHWM:\t lots kB\n"), None);
        assert_eq!(parse_vm_hwm_kib("VmHWM:\t 12 MB\n"), None);
    }

    #[test]
    fn own_process_has_a_peak() {
        let own = peak_rss_kib(std::process::id());
        if std::path::Path::new("/proc/self/status").exists() {
            assert!(own.is_some_and(|kib| kib > 0));
        }
    }
}

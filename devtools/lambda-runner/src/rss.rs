//! Peak resident memory of a process, read from Linux's `/proc/<pid>/status`, and the CPU
//! time its threads have used, from `/proc/<pid>/task/*/schedstat`.

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

/// The first field of a `schedstat` text: nanoseconds the task has run on a CPU.
pub fn parse_schedstat_ns(schedstat: &str) -> Option<u64> {
    schedstat.split_whitespace().next()?.parse().ok()
}

/// CPU time (user and system) of every live thread of a process, in nanoseconds. Per-thread
/// `schedstat` rather than `/proc/<pid>/stat`: it counts nanoseconds, not 10 ms clock ticks,
/// so a few hundred invocations are enough to tell microseconds apart.
pub(crate) fn cpu_time_ns(pid: u32) -> Option<u64> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut total = 0u64;
    for task in tasks.flatten() {
        // A thread that ended between the listing and this read has no file any more.
        let Ok(text) = std::fs::read_to_string(task.path().join("schedstat")) else {
            continue;
        };
        total = total.saturating_add(parse_schedstat_ns(&text)?);
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_schedstat_and_own_cpu_time() {
        assert_eq!(parse_schedstat_ns("123456789 2000 17\n"), Some(123_456_789));
        assert_eq!(parse_schedstat_ns(""), None);
        if std::path::Path::new("/proc/self/task").exists() {
            let before = cpu_time_ns(std::process::id()).unwrap();
            let mut x = 0u64;
            for i in 0..2_000_000u64 {
                x = x.wrapping_mul(31).wrapping_add(i);
            }
            std::hint::black_box(x);
            assert!(cpu_time_ns(std::process::id()).unwrap() > before);
        }
    }

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

//! CPU time and peak memory of a process, from Linux's `/proc`.
//!
//! CPU time is `utime + stime` of `/proc/<pid>/stat` (all the process's
//! threads, not its children), in clock ticks of `sysconf(_SC_CLK_TCK)`.
//! Peak memory is `VmHWM` of `/proc/<pid>/status`, the largest resident set
//! the process has had since it started.

use std::path::PathBuf;

/// Clock ticks per second when `sysconf` does not say (Linux's usual value).
pub const CLOCK_TICKS_PER_S_DEFAULT: u64 = 100;

/// Ticks per second of the CPU times in `/proc/<pid>/stat`.
pub fn clock_ticks_per_s() -> u64 {
    use nix::unistd::{sysconf, SysconfVar};
    match sysconf(SysconfVar::CLK_TCK) {
        Ok(Some(t)) if t > 0 => t as u64,
        _ => CLOCK_TICKS_PER_S_DEFAULT,
    }
}

fn proc_file(pid: u32, name: &str) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/{name}"))
}

/// User plus system CPU time of `pid` so far, in clock ticks; `None` if the
/// process is gone or this is not Linux.
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    parse_stat_ticks(&std::fs::read_to_string(proc_file(pid, "stat")).ok()?)
}

/// The largest resident set `pid` has had, in bytes.
pub fn peak_rss_bytes(pid: u32) -> Option<u64> {
    parse_vm_hwm(&std::fs::read_to_string(proc_file(pid, "status")).ok()?)
}

/// `utime + stime` from the text of `/proc/<pid>/stat`. The command name
/// (field 2) is in parentheses and may hold spaces and parentheses itself,
/// so the fields are counted from the last `)`: field 3 is the first after
/// it, utime is field 14 and stime field 15.
pub fn parse_stat_ticks(text: &str) -> Option<u64> {
    let after = &text[text.rfind(')')? + 1..];
    let mut fields = after.split_whitespace().skip(14 - 3);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// `VmHWM` in bytes from the text of `/proc/<pid>/status` (given in kB).
pub fn parse_vm_hwm(text: &str) -> Option<u64> {
    let line = text.lines().find_map(|l| l.strip_prefix("VmHWM:"))?;
    let kb: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_and_status_are_parsed() {
        let stat = "4242 (minhbach (x)) S 1 4242 4242 0 -1 4194560 9160 0 0 0 \
                    1234 567 0 0 20 0 9 0 381 2149838848 12133 18446744073709551615";
        assert_eq!(parse_stat_ticks(stat), Some(1234 + 567));
        assert_eq!(parse_stat_ticks("4242 (x) S 1"), None);
        let status =
            "Name:\tminhbach\nVmPeak:\t 2099436 kB\nVmHWM:\t   48532 kB\nVmRSS:\t 40000 kB\n";
        assert_eq!(parse_vm_hwm(status), Some(48_532 * 1024));
        assert_eq!(parse_vm_hwm("Name:\tx\n"), None);
    }

    #[test]
    fn this_process_can_be_measured() {
        let me = std::process::id();
        assert!(cpu_ticks(me).is_some());
        assert!(peak_rss_bytes(me).unwrap() > 0);
        assert!(clock_ticks_per_s() > 0);
    }
}

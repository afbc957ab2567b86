//! `--live`: the running kernel. What a report says of being live (`"source"`, when it started,
//! how long it took, which figures moved), `info` and `read` on `/proc/kcore`, and
//! `top --watch`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use skbwalk::live::LiveOptions;
use skbwalk::top::TopReport;

/// When the run started (wall clock, and for durations).
static START: OnceLock<(SystemTime, Instant)> = OnceLock::new();

/// Mark the start of the run.
pub fn start() {
    START.get_or_init(|| (SystemTime::now(), Instant::now()));
}

/// `time` as UTC `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn utc(time: SystemTime) -> String {
    let d = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // days since 1970-01-01 to a civil date (Howard Hinnant's algorithm)
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// A live report's own facts (`"live"` in JSON).
#[derive(Debug, Serialize)]
pub struct LiveOut {
    /// What was read.
    pub kcore: String,
    /// When the run started (UTC).
    pub started: String,
    /// How long it took, seconds.
    pub seconds: f64,
    /// The figures that are a moving snapshot: read over `seconds` from a kernel that kept
    /// running (a stalled socket's queue is not among them: it did not move).
    pub moving: &'static [&'static str],
}

/// The figures every live report reads while they move.
const MOVING: &[&str] = &[
    "counters (vm_stat, per-CPU deltas, sockstat)",
    "the page census",
    "queues of sockets that were sending or receiving",
    "the task and socket lists",
];

/// The live facts of this run, for a report about `kcore`.
pub fn out(kcore: &str) -> LiveOut {
    let (wall, mono) = *START.get_or_init(|| (SystemTime::now(), Instant::now()));
    LiveOut {
        kcore: kcore.to_string(),
        started: utc(wall),
        seconds: (mono.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
        moving: MOVING,
    }
}

/// The text view's line saying the report is live.
pub fn line(kcore: &str) -> String {
    let o = out(kcore);
    format!(
        "live: {} read from {} for {:.3} s; counters, the census and busy queues moved while read\n",
        o.kcore, o.started, o.seconds
    )
}

/// The options for `--live`, under `root` (default `/`).
pub fn options(root: Option<&PathBuf>) -> LiveOptions {
    match root {
        Some(r) => LiveOptions::under(r),
        None => LiveOptions::default(),
    }
}

/// Each socket's pinned bytes by `struct sock` address, for the growth `--watch` shows.
pub fn pinned_by_sock(r: &TopReport) -> HashMap<u64, u64> {
    r.sockets
        .iter()
        .map(|s| (s.id.sock.0, s.totals.pinned_bytes))
        .collect()
}

/// One `top --watch` sample as JSON: the report, its sample number and time, and each
/// socket's growth since the first sample.
#[derive(Serialize)]
pub struct Sample<'a> {
    /// 1, 2, …
    pub sample: u64,
    /// Seconds since the first sample.
    pub elapsed_seconds: f64,
    /// The report.
    #[serde(flatten)]
    pub report: &'a TopReport,
    /// Pinned bytes now less pinned bytes at the first sample, per socket of the report
    /// (sockets new since then grew by all they pin).
    pub growth: Vec<Growth>,
    /// `"live"`.
    pub source: &'static str,
}

/// One socket's growth.
#[derive(Serialize)]
pub struct Growth {
    /// `struct sock`.
    pub sock: String,
    /// Its pid and fd, when a task holds it.
    pub pid: Option<i32>,
    /// Its fd.
    pub fd: Option<u32>,
    /// Pinned bytes now.
    pub pinned_bytes: u64,
    /// Since the first sample.
    pub growth_bytes: i64,
}

/// The growth of each socket of `r` against `first`.
pub fn growth(r: &TopReport, first: &HashMap<u64, u64>) -> Vec<Growth> {
    r.sockets
        .iter()
        .map(|s| Growth {
            sock: format!("{:#x}", s.id.sock.0),
            pid: s.pid,
            fd: s.fd,
            pinned_bytes: s.totals.pinned_bytes,
            growth_bytes: s.totals.pinned_bytes as i64
                - first.get(&s.id.sock.0).copied().unwrap_or(0) as i64,
        })
        .collect()
}

/// The text view of a sample's growth: the `n` sockets that grew most.
pub fn growth_text(g: &[Growth], n: usize) -> String {
    let mut sorted: Vec<&Growth> = g.iter().collect();
    sorted.sort_by_key(|x| std::cmp::Reverse(x.growth_bytes));
    let mut s = String::from("\ngrowth since the first sample:\n     pid     fd              sock      pinned      growth\n");
    for x in sorted.iter().take(n) {
        let _ = writeln!(
            s,
            "{:>8} {:>6} {:>17} {:>11} {:>+11}",
            x.pid.map_or("-".into(), |p| p.to_string()),
            x.fd.map_or("-".into(), |f| f.to_string()),
            x.sock,
            crate::human::bytes(x.pinned_bytes),
            x.growth_bytes
        );
    }
    s
}

/// How long to sleep until the next sample of a `period` watch that started at `t0`.
pub fn until_next(t0: Instant, period: Duration, samples_done: u32) -> Duration {
    (t0 + period * samples_done).saturating_duration_since(Instant::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_796_441_100_250);
        assert_eq!(utc(t), "2026-12-05T03:25:00.250Z");
        let leap = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(utc(leap), "2000-02-29T00:00:00.000Z");
    }
}

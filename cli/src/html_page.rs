//! `explain --html` / `--svg`: one self-contained page (inline SVG and styles, no network, no
//! external scripts) — stacked bars from MemTotal → free / user / kernel / allocpage → census
//! classes → the top sockets, every box's area proportional to its bytes at one scale, with the
//! tables beside it.

use std::fmt::Write as _;

use skbwalk::explain::ExplainReport;
use skbwalk::Kernel;

use crate::human::bytes;

/// Width of the picture, px; height of one bar.
const WIDTH: f64 = 1000.0;
const BAR: f64 = 56.0;
const GAP: f64 = 30.0;

fn esc(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '<' => "&lt;".into(),
            '>' => "&gt;".into(),
            '&' => "&amp;".into(),
            '"' => "&quot;".into(),
            '\'' => "&#39;".into(),
            c if c.is_control() => format!("\\x{:02x}", c as u32),
            c => c.to_string(),
        })
        .collect()
}

/// One box: label, bytes, colour.
type Box = (String, u64, &'static str);

/// The bars: (row title, boxes).
fn rows(r: &ExplainReport) -> Vec<(String, Vec<Box>)> {
    let b = &r.breakdown;
    let pos = |v: i64| v.max(0) as u64;
    let mut out = vec![
        (
            "MemTotal".to_string(),
            vec![("total".to_string(), pos(b.total), "#8aa")],
        ),
        (
            "breakdown".into(),
            vec![
                ("free".into(), pos(b.free), "#9c9"),
                ("user".into(), pos(b.user), "#69c"),
                ("kernel".into(), pos(b.kernel), "#c96"),
                ("allocpage".into(), pos(b.allocpage), "#c55"),
            ],
        ),
    ];
    if let Some(c) = &r.census {
        let ps = r.page_size;
        let mut v: Vec<Box> = c
            .classes
            .iter()
            .filter(|(k, _)| **k != "other")
            .map(|(k, &n)| (k.to_string(), n * ps, "#aab"))
            .collect();
        v.push((
            "other (allocpage)".into(),
            c.classes.get("other").copied().unwrap_or(0) * ps,
            "#c55",
        ));
        out.push(("page census".into(), v));
        // the owners level: who holds the pages no counter explains
        let colour = |key: &str| match key {
            "skb" => "#c33",
            "vmalloc" => "#d88",
            "unattributed" => "#ebb",
            _ => "#b66",
        };
        let owners: Vec<Box> = c
            .other
            .parts()
            .into_iter()
            .filter(|&(_, n)| n > 0)
            .map(|(k, n)| (format!("other: {k}"), n * ps, colour(k)))
            .collect();
        out.push(("allocpage by owner".into(), owners));
        // the largest holders of the owners the kernel's structures name
        let mut holders: Vec<Box> = c
            .owners
            .iter()
            .flat_map(|(k, hs)| {
                hs.iter()
                    .map(move |h| (format!("{k}: {}", h.holder), h.pages * ps, "#a66"))
            })
            .collect();
        holders.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        holders.truncate(8);
        if !holders.is_empty() {
            out.push(("largest holders beyond socket queues".into(), holders));
        }
    }
    if !r.top_sockets.is_empty() {
        let v = r
            .top_sockets
            .iter()
            .map(|t| {
                (
                    format!(
                        "{} {} fd {}",
                        t.pid.map_or("-".into(), |p| p.to_string()),
                        t.comm.clone().unwrap_or_default(),
                        t.fd.map_or("-".into(), |f| f.to_string())
                    ),
                    t.totals.pinned_bytes,
                    "#b44",
                )
            })
            .collect();
        out.push(("top sockets (pinned)".into(), v));
        // the same sockets by the cgroup of their holder: which pod or service holds the memory
        if r.top_sockets
            .iter()
            .any(|t| t.cgroup.as_deref().is_some_and(|c| c != "/"))
        {
            let mut by: std::collections::BTreeMap<String, u64> = Default::default();
            for t in &r.top_sockets {
                *by.entry(t.cgroup.clone().unwrap_or_else(|| "(no process)".into()))
                    .or_default() += t.totals.pinned_bytes;
            }
            let mut v: Vec<(String, u64, &'static str)> =
                by.into_iter().map(|(c, b)| (c, b, "#a55")).collect();
            v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            out.push(("top sockets by cgroup (pinned)".into(), v));
        }
    }
    out
}

/// The picture alone.
pub fn svg(r: &ExplainReport) -> String {
    let rows = rows(r);
    let widest = rows
        .iter()
        .map(|(_, boxes)| boxes.iter().map(|b| b.1).sum::<u64>())
        .max()
        .unwrap_or(1)
        .max(1);
    let scale = WIDTH / widest as f64;
    let height = rows.len() as f64 * (BAR + GAP) + 10.0;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
         viewBox=\"0 0 {WIDTH} {height}\" font-family=\"sans-serif\" font-size=\"12\">\n"
    );
    for (i, (title, boxes)) in rows.iter().enumerate() {
        let y = i as f64 * (BAR + GAP) + 18.0;
        let _ = writeln!(
            s,
            "<text x=\"0\" y=\"{:.1}\" font-weight=\"bold\">{}</text>",
            y - 4.0,
            esc(title)
        );
        let mut x = 0.0;
        for (label, bytes_, colour) in boxes {
            let w = *bytes_ as f64 * scale;
            let _ = writeln!(
                s,
                "<g><rect class=\"box\" data-bytes=\"{bytes_}\" data-label=\"{}\" x=\"{x:.3}\" y=\"{y:.1}\" \
                 width=\"{w:.3}\" height=\"{BAR}\" fill=\"{colour}\" stroke=\"#fff\" stroke-width=\"0\">\
                 <title>{}: {}</title></rect>",
                esc(label),
                esc(label),
                bytes(*bytes_)
            );
            if w > 60.0 {
                let _ = writeln!(
                    s,
                    "<text x=\"{:.1}\" y=\"{:.1}\">{}</text><text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                    x + 4.0,
                    y + 20.0,
                    esc(label),
                    x + 4.0,
                    y + 38.0,
                    bytes(*bytes_)
                );
            }
            let _ = writeln!(s, "</g>");
            x += w;
        }
    }
    s.push_str("</svg>\n");
    s
}

fn table(s: &mut String, title: &str, head: &[&str], rows: &[Vec<String>]) {
    let _ = write!(s, "<h2>{}</h2>\n<table><tr>", esc(title));
    for h in head {
        let _ = write!(s, "<th>{}</th>", esc(h));
    }
    s.push_str("</tr>\n");
    for r in rows {
        s.push_str("<tr>");
        for c in r {
            let _ = write!(s, "<td>{}</td>", esc(c));
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</table>\n");
}

/// The whole page.
pub fn html(r: &ExplainReport, k: &Kernel) -> String {
    let release = k
        .dump()
        .and_then(|d| d.info().osrelease.clone())
        .unwrap_or_default();
    let mut s = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>skbwalk explain</title>\n\
         <style>body{font-family:sans-serif;margin:20px;display:flex;gap:30px;flex-wrap:wrap}\
         #pic{flex:0 0 1000px}#tables{flex:1 1 400px}table{border-collapse:collapse;margin-bottom:12px}\
         td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}th{background:#eee}\
         p.summary{font-size:15px;max-width:1000px}</style></head><body>\n",
    );
    let _ = writeln!(
        s,
        "<div id=\"pic\"><h1>Where the memory is — {}</h1>\n<p class=\"summary\">{}</p>",
        esc(&release),
        esc(&r.summary)
    );
    s.push_str(&svg(r));
    s.push_str("</div>\n<div id=\"tables\">\n");
    let b = &r.breakdown;
    let l = &b.lines;
    let pct = |v: i64| format!("{:.1}%", v as f64 * 100.0 / b.total.max(1) as f64);
    let line = |n: &str, v: i64| vec![n.to_string(), v.to_string(), bytes(v.max(0) as u64), pct(v)];
    table(
        &mut s,
        "breakdown",
        &["", "bytes", "", "of total"],
        &[
            line("total", b.total),
            line("free", b.free),
            line("user", b.user),
            line("kernel", b.kernel),
            line("  slab", l.slab_reclaimable + l.slab_unreclaimable),
            line("  page tables", l.page_tables),
            line("  vmalloc", l.vmalloc),
            line("  percpu", l.percpu),
            line("allocpage", b.allocpage),
        ],
    );
    if let Some(c) = &r.census {
        let mut rows: Vec<Vec<String>> = c
            .classes
            .iter()
            .map(|(k, n)| {
                let check = c
                    .checks
                    .iter()
                    .find(|x| x.class == *k)
                    .map_or(String::new(), |x| {
                        format!("{} ({:+})", x.counter_pages, x.difference)
                    });
                vec![k.to_string(), n.to_string(), check]
            })
            .collect();
        for (key, n) in c.other.parts() {
            if n == 0 && !["skb", "vmalloc", "unattributed"].contains(&key) {
                continue;
            }
            let top = c
                .owners
                .get(key)
                .and_then(|h| h.first())
                .map_or(String::new(), |h| {
                    format!("most: {} ({} pages)", h.holder, h.pages)
                });
            rows.push(vec![format!("other: {key}"), n.to_string(), top]);
        }
        table(
            &mut s,
            "page census (pages)",
            &["class", "pages", "counter (difference)"],
            &rows,
        );
    }
    let rows: Vec<Vec<String>> = r
        .top_sockets
        .iter()
        .map(|t| {
            vec![
                t.pid.map_or("-".into(), |p| p.to_string()),
                t.comm.clone().unwrap_or_default(),
                t.fd.map_or("-".into(), |f| f.to_string()),
                format!("{} {}", t.id.family, t.id.state),
                format!(
                    "{} → {}",
                    t.id.local.clone().unwrap_or_default(),
                    t.id.remote.clone().unwrap_or_default()
                ),
                bytes(t.totals.pinned_bytes),
                bytes(t.totals.truesize),
                t.cgroup.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    table(
        &mut s,
        "top sockets",
        &[
            "pid",
            "comm",
            "fd",
            "socket",
            "addresses",
            "pinned",
            "truesize",
            "cgroup",
        ],
        &rows,
    );
    let mut rows = vec![vec![
        "sockstat TCP mem".to_string(),
        bytes(r.sockstat.tcp_memory_allocated_bytes),
        format!("{} TCP sockets", r.sockstat.tcp_sockets),
    ]];
    for (name, u) in &r.skb_slab {
        rows.push(vec![
            name.clone(),
            bytes(u.active_objects.saturating_mul(u.slot_size)),
            format!(
                "{} of {} objects x {} B",
                u.active_objects, u.total_objects, u.slot_size
            ),
        ]);
    }
    rows.push(vec![
        "worst case".into(),
        bytes(r.worst_case_bytes),
        format!(
            "active skbs x {} x {} KiB",
            r.worst_case_frags,
            r.worst_case_frag_page_bytes >> 10
        ),
    ]);
    table(
        &mut s,
        "what the usual views showed",
        &["view", "bytes", ""],
        &rows,
    );
    // Measure each box as the browser laid it out (the test reads these from the DOM).
    s.push_str(
        "</div>\n<script>for (const e of document.querySelectorAll('rect.box')) {\
         const b = e.getBoundingClientRect(); e.setAttribute('data-area', (b.width * b.height).toFixed(3)); }\
         document.body.setAttribute('data-measured', '1');</script>\n</body></html>\n",
    );
    s
}

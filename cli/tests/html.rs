//! `explain --html` in a real headless browser (Debian's chromium; `.ci/run` installs it): the
//! page loads with no console errors, every box's laid-out area is proportional to its bytes (read
//! from the DOM after the page measured itself), nothing is fetched, and a screenshot is taken.

use std::path::{Path, PathBuf};
use std::process::Command;

use testdata::sample::{write_sample, SampleSize};

fn chromium() -> PathBuf {
    for c in ["chromium", "chromium-browser", "google-chrome"] {
        if let Ok(o) = Command::new("which").arg(c).output() {
            if o.status.success() {
                return PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
            }
        }
    }
    panic!("explain --html is tested in a real browser: install chromium (apt-get install chromium; .ci/run does)");
}

fn browser(page: &Path, extra: &[&str]) -> (String, String) {
    let o = Command::new("timeout")
        .arg("120")
        .arg(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1600,1400",
        ])
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// `name="value"` inside one tag.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let i = tag.find(&key)? + key.len();
    Some(&tag[i..i + tag[i..].find('"')?])
}

#[test]
fn the_explain_page_renders_boxes_proportional_to_their_bytes() {
    let dir = testdata::scratch::root(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("skbwalk-html-{}", std::process::id()));
    let (s, _) = write_sample(&dir, SampleSize { stalled_skbs: 2000 }).unwrap();
    let page = dir.join("explain.html");
    let svg = dir.join("explain.svg");
    let out = Command::new(env!("CARGO_BIN_EXE_skbwalk"))
        .env(
            "XDG_CACHE_HOME",
            std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cache"),
        )
        .arg("--vmcore")
        .arg(&s.vmcore)
        .arg("--vmlinux")
        .arg(&s.vmlinux)
        .arg("explain")
        .arg("--html")
        .arg(&page)
        .arg("--svg")
        .arg(&svg)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(&page).unwrap();
    // self-contained: nothing to fetch
    for needle in [
        "<script src",
        "<link",
        "url(",
        "<img",
        "@import",
        "https://",
    ] {
        assert!(
            !html.contains(needle),
            "the page fetches something: {needle}"
        );
    }
    assert!(std::fs::read_to_string(&svg).unwrap().starts_with("<svg"));

    let (dom, log) = browser(&page, &["--dump-dom"]);
    let console: Vec<&str> = log.lines().filter(|l| l.contains("CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:?}");
    assert!(
        dom.contains("data-measured=\"1\""),
        "the page's script did not run"
    );
    let mut boxes = Vec::new();
    for tag in dom.split("<rect").skip(1) {
        let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
        let (Some(b), Some(a)) = (attr(tag, "data-bytes"), attr(tag, "data-area")) else {
            continue;
        };
        let (b, a): (f64, f64) = (b.parse().unwrap(), a.parse().unwrap());
        boxes.push((attr(tag, "data-label").unwrap_or("?").to_string(), b, a));
    }
    assert!(boxes.len() >= 8, "{} boxes", boxes.len());
    // one scale for every box: area / bytes is the same, within 1 % (boxes of at least 50 px²)
    let big: Vec<_> = boxes
        .iter()
        .filter(|(_, b, a)| *b > 0.0 && *a >= 50.0)
        .collect();
    let scale = big[0].2 / big[0].1;
    for (label, b, a) in &big {
        let r = a / b / scale;
        assert!(
            (0.99..=1.01).contains(&r),
            "box {label}: area {a} for {b} bytes (ratio {r:.4})"
        );
    }
    for (label, b, a) in &boxes {
        if *b == 0.0 {
            assert!(*a < 1.0, "box {label} has no bytes but area {a}");
        }
    }
    let shot = dir.join("explain.png");
    browser(&page, &[&format!("--screenshot={}", shot.display())]);
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "screenshot {} bytes",
        png.len()
    );
}

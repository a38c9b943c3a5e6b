//! A progress bar for long calls, drawn on one terminal line (no dependency needed for a line
//! of `#`s).

use std::io::Write;

/// Draws `done` of `total` `things` as `[#####.....]  45,000/100,000 rows  label`.
pub fn bar(done: i64, total: i64, things: &str, label: &str) -> String {
    const WIDTH: i64 = 30;
    let filled = if total > 0 {
        (done.clamp(0, total) * WIDTH) / total
    } else {
        WIDTH
    };
    format!(
        "[{}{}] {:>9}/{} {things}  {label}",
        "#".repeat(filled as usize),
        ".".repeat((WIDTH - filled) as usize),
        thousands(done),
        thousands(total)
    )
}

/// `12345` as `12,345`.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// Redraws the bar in place on standard error.
pub fn redraw(line: &str) {
    let mut err = std::io::stderr();
    let _ = write!(err, "\r{line}\x1b[K");
    let _ = err.flush();
}

/// Ends the bar's line, or prints a note, on standard error (standard output stays for
/// results a program reads).
pub fn note(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_fills_with_progress() {
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(12), "12");
        let half = bar(50, 100, "rows", "");
        assert!(half.starts_with(&format!("[{}{}]", "#".repeat(15), ".".repeat(15))));
        assert!(half.contains("50/100 rows"), "{half}");
        assert!(bar(0, 0, "people", "").starts_with(&format!("[{}]", "#".repeat(30))));
    }
}

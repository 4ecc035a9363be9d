//! CSV in, SVG out: the first column is x (numbers, or the row number when it is not numeric),
//! every other numeric column a line. Hand-drawn SVG: axes, five ticks each, a legend.

use std::fmt::Write as _;

/// A parsed CSV: the header and the numeric rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub x_label: String,
    /// The names of the plotted columns.
    pub series: Vec<String>,
    /// `(x, ys)` per row; `ys[i]` is `None` where a cell is not a number.
    pub rows: Vec<(f64, Vec<Option<f64>>)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlotError {
    Empty,
    NoNumbers,
    TooLarge,
}

impl std::error::Error for PlotError {}

impl std::fmt::Display for PlotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Empty => "the file has no header and no rows",
            Self::NoNumbers => "no column after the first holds numbers",
            Self::TooLarge => "the file has more than 100000 rows",
        })
    }
}

const MAX_ROWS: usize = 100_000;
const COLOURS: [&str; 4] = ["#1f6feb", "#d1242f", "#1a7f37", "#9a6700"];

fn cells(line: &str) -> Vec<String> {
    line.split(',')
        .map(|c| c.trim().trim_matches('"').to_owned())
        .collect()
}

/// Reads `text` as CSV with a header line (plain comma-separated cells, optional quotes).
pub fn parse_csv(text: &str) -> Result<Table, PlotError> {
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'));
    let header = cells(lines.next().ok_or(PlotError::Empty)?);
    let body: Vec<Vec<String>> = lines.map(cells).collect();
    if body.is_empty() {
        return Err(PlotError::Empty);
    }
    if body.len() > MAX_ROWS {
        return Err(PlotError::TooLarge);
    }
    let number = |r: &Vec<String>, i: usize| r.get(i).and_then(|c| c.parse::<f64>().ok());
    let numeric_x = body.iter().all(|r| number(r, 0).is_some());
    let columns: Vec<usize> = (1..header.len().max(1))
        .filter(|&i| body.iter().any(|r| number(r, i).is_some()))
        .take(COLOURS.len())
        .collect();
    if columns.is_empty() {
        return Err(PlotError::NoNumbers);
    }
    let rows = body
        .iter()
        .enumerate()
        .map(|(n, r)| {
            let x = if numeric_x {
                number(r, 0).unwrap_or(0.0)
            } else {
                n as f64
            };
            (x, columns.iter().map(|&i| number(r, i)).collect())
        })
        .collect();
    Ok(Table {
        x_label: header.first().cloned().unwrap_or_default(),
        series: columns
            .iter()
            .map(|&i| header.get(i).cloned().unwrap_or_default())
            .collect(),
        rows,
    })
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A tick label with as many decimals as the axis's `span` needs (three significant digits
/// of the span), trailing zeros dropped.
fn label(v: f64, span: f64) -> String {
    let decimals = (2.0 - span.abs().max(1e-9).log10().floor()).clamp(0.0, 6.0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if lo == hi {
        return (lo - 1.0, hi + 1.0);
    }
    (lo, hi)
}

/// The y range with a 5% margin, so no line lies on an axis.
fn padded((lo, hi): (f64, f64)) -> (f64, f64) {
    let m = (hi - lo) * 0.05;
    (lo - m, hi + m)
}

/// The SVG document of `table`, titled `title`.
pub fn render_svg(table: &Table, title: &str) -> String {
    const W: f64 = 640.0;
    const H: f64 = 360.0;
    const L: f64 = 64.0;
    const R: f64 = 24.0;
    const T: f64 = 60.0;
    const B: f64 = 48.0;
    let (x0, x1) = range(table.rows.iter().map(|r| r.0));
    let (y0, y1) = padded(range(
        table
            .rows
            .iter()
            .flat_map(|r| r.1.iter().flatten().copied()),
    ));
    let px = |x: f64| L + (x - x0) / (x1 - x0) * (W - L - R);
    let py = |y: f64| H - B - (y - y0) / (y1 - y0) * (H - T - B);
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="{t}"><title>{t}</title><rect width="100%" height="100%" fill="#fff"/><text x="{cx}" y="24" text-anchor="middle" font-family="sans-serif" font-size="16">{t}</text>"##,
        t = escape(title),
        cx = W / 2.0
    );
    // Axes and ticks.
    let _ = write!(
        s,
        r##"<g stroke="#57606a" stroke-width="1"><line x1="{L}" y1="{yb}" x2="{xr}" y2="{yb}"/><line x1="{L}" y1="{T}" x2="{L}" y2="{yb}"/></g><g font-family="sans-serif" font-size="11" fill="#24292f">"##,
        yb = H - B,
        xr = W - R
    );
    for i in 0..=4 {
        let f = f64::from(i) / 4.0;
        let (xv, yv) = (x0 + f * (x1 - x0), y0 + f * (y1 - y0));
        let _ = write!(
            s,
            r##"<text x="{x}" y="{ty}" text-anchor="middle">{xl}</text><text x="{lx}" y="{y}" text-anchor="end" dominant-baseline="middle">{yl}</text><line x1="{L}" y1="{y}" x2="{xr}" y2="{y}" stroke="#d0d7de" stroke-dasharray="2 3"/>"##,
            x = px(xv),
            ty = H - B + 16.0,
            xl = label(xv, x1 - x0),
            lx = L - 6.0,
            y = py(yv),
            yl = label(yv, y1 - y0),
            xr = W - R
        );
    }
    let _ = write!(
        s,
        r##"<text x="{cx}" y="{by}" text-anchor="middle">{xl}</text></g>"##,
        cx = (L + W - R) / 2.0,
        by = H - 10.0,
        xl = escape(&table.x_label)
    );
    // One polyline per series, and its legend entry.
    for (i, name) in table.series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let points: Vec<String> = table
            .rows
            .iter()
            .filter_map(|(x, ys)| {
                ys.get(i)
                    .copied()
                    .flatten()
                    .map(|y| format!("{:.1},{:.1}", px(*x), py(y)))
            })
            .collect();
        let _ = write!(
            s,
            r##"<polyline class="series" fill="none" stroke="{colour}" stroke-width="2" points="{p}"/><rect x="{lx}" y="{ly}" width="12" height="4" fill="{colour}"/><text x="{tx}" y="{ty}" font-family="sans-serif" font-size="11" fill="#24292f">{n}</text>"##,
            p = points.join(" "),
            lx = L + 8.0 + 110.0 * i as f64,
            ly = T - 22.0,
            tx = L + 24.0 + 110.0 * i as f64,
            ty = T - 16.0,
            n = escape(name)
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn numeric_columns_become_series() {
        let t = parse_csv("day,temp,site\n1,10.5,a\n2,11,b\n3,x,c\n").unwrap();
        assert_eq!(t.x_label, "day");
        assert_eq!(t.series, vec!["temp"]);
        assert_eq!(t.rows[2], (3.0, vec![None]));
        let svg = render_svg(&t, "temps <1>");
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains("<title>temps &lt;1&gt;</title>"));
        assert_eq!(svg.matches("<polyline").count(), 1);
        assert!(svg.ends_with("</svg>"));
    }

    #[test]
    fn a_text_first_column_plots_against_the_row_number() {
        let t = parse_csv("name,a,b\nx,1,2\ny,3,4\n").unwrap();
        assert_eq!(t.rows[1].0, 1.0);
        assert_eq!(t.series.len(), 2);
    }

    #[test]
    fn files_without_numbers_are_refused() {
        assert_eq!(parse_csv(""), Err(PlotError::Empty));
        assert_eq!(parse_csv("a,b\n"), Err(PlotError::Empty));
        assert_eq!(parse_csv("a,b\nx,y\n"), Err(PlotError::NoNumbers));
    }

    #[test]
    fn tick_labels_have_the_decimals_the_axis_needs() {
        assert_eq!(label(37.218, 27.4), "37.2");
        assert_eq!(label(2020.5, 2.0), "2020.5");
        assert_eq!(label(7.26, 29.0), "7.3");
        assert_eq!(label(1500.0, 3000.0), "1500");
        assert_eq!(label(0.01234, 0.05), "0.0123");
    }

    #[test]
    fn a_single_point_still_has_a_range() {
        let t = parse_csv("x,y\n5,5\n").unwrap();
        let svg = render_svg(&t, "one");
        assert!(!svg.contains("NaN"));
    }
}

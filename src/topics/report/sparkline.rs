//! Sparklines of an entry's weekly counts: SVG for pages and e-mail, text
//! for terminals.

/// An inline SVG sparkline of `counts`, drawn on the server.
pub fn sparkline_svg(counts: &[u32]) -> String {
    let (w, h, pad) = (120.0_f64, 28.0_f64, 3.0_f64);
    let max = f64::from(counts.iter().copied().max().unwrap_or(0).max(1));
    let step = if counts.len() > 1 {
        (w - 2.0 * pad) / (counts.len() - 1) as f64
    } else {
        0.0
    };
    let points: Vec<(f64, f64)> = counts
        .iter()
        .enumerate()
        .map(|(i, c)| {
            (
                pad + step * i as f64,
                h - pad - (h - 2.0 * pad) * f64::from(*c) / max,
            )
        })
        .collect();
    let line = points
        .iter()
        .map(|(x, y)| format!("{x:.1},{y:.1}"))
        .collect::<Vec<_>>()
        .join(" ");
    let (lx, ly) = points.last().copied().unwrap_or((pad, h - pad));
    let label = counts
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "<svg class=\"spark\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" \
         aria-label=\"Articles per week, last {n} weeks: {label}\" xmlns=\"http://www.w3.org/2000/svg\">\
         <polyline fill=\"none\" stroke=\"currentColor\" stroke-width=\"2\" stroke-linejoin=\"round\" points=\"{line}\"/>\
         <circle cx=\"{lx:.1}\" cy=\"{ly:.1}\" r=\"2.5\" fill=\"currentColor\"/></svg>",
        n = counts.len()
    )
}

/// A text sparkline for terminals: one block per week.
pub fn sparkline_text(counts: &[u32]) -> String {
    const BARS: [char; 8] = [
        '\u{2581}', '\u{2582}', '\u{2583}', '\u{2584}', '\u{2585}', '\u{2586}', '\u{2587}',
        '\u{2588}',
    ];
    let max = counts.iter().copied().max().unwrap_or(0);
    counts
        .iter()
        .map(|c| {
            if *c == 0 || max == 0 {
                ' '
            } else {
                let i = (usize::try_from(*c).unwrap_or(0) * (BARS.len() - 1))
                    / usize::try_from(max).unwrap_or(1);
                BARS[i.min(BARS.len() - 1)]
            }
        })
        .collect()
}

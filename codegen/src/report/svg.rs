//! The memory timeline: the arena drawn over the schedule as a self-contained SVG picture,
//! for `edgegen inspect --format svg` and the HTML report.
//!
//! ```text
//!  bytes ▲ ─────────────────────────────── ARENA_BYTES
//!        │ ┌──────┐      ┌────────────┐
//!        │ │ buf 0│      │   buf 2    │    one rectangle per arena buffer:
//!        │ └──────┘┌─────┴──┐         │    its bytes (up) while it is live (across),
//!        │         │ buf 1  │         │    from the step that writes it to the last
//!      0 ┼─────────┴────────┴─────────┴──▶ step that reads it
//!          0   1   2   3   4   5   6  step
//! ```
//!
//! Everything is computed from the [`Report`], nothing from the clock or a random source, so the
//! same model always gives the same bytes (a test checks the committed README picture).
//! Vertical positions are whole tenths of a pixel computed from byte offsets with one rounding
//! function, so buffers that touch in memory touch in the picture, and a test can read the
//! rectangles back and check that none overlap.

use std::fmt::Write;

use super::{ArenaTensor, Report, escape_markup, format_bytes, group_digits};

/// Left margin, for the offset labels.
const LEFT: i64 = 72;
const RIGHT: i64 = 24;
/// Top margin, for the title and the summary line.
const TOP: i64 = 56;
const PLOT_HEIGHT: i64 = 360;
/// The plot aims at this width; steps are between [`MIN_STEP_WIDTH`] and [`MAX_STEP_WIDTH`]
/// pixels wide, so a model with hundreds of layers gives a wide picture rather than an
/// unreadable one.
const TARGET_PLOT_WIDTH: i64 = 960;
const MIN_STEP_WIDTH: i64 = 4;
const MAX_STEP_WIDTH: i64 = 64;
/// The picture is at least this wide, for the caption.
const MIN_WIDTH: i64 = 640;
/// Roughly the width of a character of the 10-pixel label font: used to decide whether a label
/// fits in its rectangle.
const LABEL_CHAR_WIDTH: f64 = 6.2;
const CAPTION_LINE_HEIGHT: i64 = 15;

/// One rectangle: the tensors of one arena buffer.
struct Buffer<'a> {
    index: usize,
    tensors: Vec<&'a ArenaTensor>,
    /// Bytes from the bottom of the stacked arenas.
    start: usize,
    end: usize,
    first_step: usize,
    last_step: usize,
}

/// The buffers to draw, in buffer order, with their place in the stacked arenas (each arena's
/// bytes after those of the arenas before it). Buffers without bytes are left out.
fn buffers(report: &Report) -> Vec<Buffer<'_>> {
    let mut buffers: Vec<Buffer<'_>> = Vec::new();
    for tensor in &report.memory.tensors {
        let base: usize = report
            .memory
            .arenas
            .iter()
            .take_while(|a| a.dtype != tensor.dtype)
            .map(|a| a.bytes)
            .sum();
        match buffers.iter_mut().find(|b| b.index == tensor.buffer) {
            Some(b) => {
                b.tensors.push(tensor);
                b.end = b.end.max(base + tensor.offset + tensor.bytes);
                b.first_step = b.first_step.min(tensor.first_step);
                b.last_step = b.last_step.max(tensor.last_step);
            }
            None => buffers.push(Buffer {
                index: tensor.buffer,
                tensors: vec![tensor],
                start: base + tensor.offset,
                end: base + tensor.offset + tensor.bytes,
                first_step: tensor.first_step,
                last_step: tensor.last_step,
            }),
        }
    }
    buffers.retain(|b| b.end > b.start);
    buffers.sort_by_key(|b| b.index);
    for b in &mut buffers {
        b.tensors.sort_by_key(|t| (t.first_step, t.last_step));
    }
    buffers
}

/// Tenths of a pixel, printed as a decimal: `123` is `12.3`.
fn tenths(v: i64) -> String {
    format!("{}.{}", v.div_euclid(10), v.rem_euclid(10))
}

/// A fill colour from the buffer index: hues a golden angle apart, so neighbours differ, in
/// soft tones that keep black labels readable.
fn colour(index: usize) -> String {
    let hue = (index as f64 * 137.507_764) % 360.0;
    let lightness = [0.78, 0.70, 0.84][index % 3];
    let (r, g, b) = hsl_to_rgb(hue, 0.55, lightness);
    format!("#{r:02x}{g:02x}{b:02x}")
}

fn hsl_to_rgb(hue: f64, saturation: f64, lightness: f64) -> (u8, u8, u8) {
    let chroma = (1.0 - (2.0 * lightness - 1.0).abs()) * saturation;
    let h = hue / 60.0;
    let x = chroma * (1.0 - (h % 2.0 - 1.0).abs());
    let (r, g, b) = match h as u32 {
        0 => (chroma, x, 0.0),
        1 => (x, chroma, 0.0),
        2 => (0.0, chroma, x),
        3 => (0.0, x, chroma),
        4 => (x, 0.0, chroma),
        _ => (chroma, 0.0, x),
    };
    let m = lightness - chroma / 2.0;
    let byte = |v: f64| ((v + m) * 255.0).round().clamp(0.0, 255.0) as u8;
    (byte(r), byte(g), byte(b))
}

/// The distance between labelled offsets: the smallest power of two that gives at most eight
/// intervals, and at least 16 bytes (the arena's alignment).
fn tick_interval(total: usize) -> usize {
    total.div_ceil(8).next_power_of_two().max(16)
}

/// The tooltip of a buffer: each tensor in it with its type, bytes and steps.
fn buffer_title(report: &Report, buffer: &Buffer<'_>) -> String {
    let layer = |step: usize| {
        report
            .layers
            .get(step)
            .map_or(String::new(), |l| format!(" ({} {})", l.op, l.name))
    };
    let mut blocks = Vec::new();
    if buffer.tensors.len() > 1 {
        blocks.push(format!(
            "{} tensors share this buffer (views or layers run in place):",
            buffer.tensors.len()
        ));
    }
    for t in &buffer.tensors {
        let shape: Vec<String> = t.shape.iter().map(|d| d.to_string()).collect();
        blocks.push(format!(
            "{}\n{} [{}], {} bytes at {}..{} of arena_{}\nsteps {}–{}: written by {}{}, last read by {}{}",
            t.name,
            t.dtype,
            shape.join(", "),
            group_digits(t.bytes as u64),
            group_digits(t.offset as u64),
            group_digits((t.offset + t.bytes) as u64),
            t.dtype,
            t.first_step,
            t.last_step,
            t.first_step,
            layer(t.first_step),
            t.last_step,
            layer(t.last_step),
        ));
    }
    blocks.join("\n\n")
}

/// A `<title>` child: the tooltip (its line breaks are references, so it is one line of the
/// file).
fn title(text: &str) -> String {
    format!("<title>{}</title>", escape_markup(text))
}

/// The memory timeline of a report as a standalone SVG document.
pub fn format_svg(report: &Report) -> String {
    let buffers = buffers(report);
    let total = report.totals.arena_bytes;
    let n_steps = report
        .layers
        .len()
        .max(buffers.iter().map(|b| b.last_step + 1).max().unwrap_or(0))
        .max(1);
    let step_width =
        (TARGET_PLOT_WIDTH / n_steps as i64).clamp(MIN_STEP_WIDTH, MAX_STEP_WIDTH);
    let plot_width = step_width * n_steps as i64;
    let width = (LEFT + plot_width + RIGHT).max(MIN_WIDTH);
    let bottom = TOP + PLOT_HEIGHT;
    // The vertical position of a byte offset, in tenths of a pixel: 0 at the bottom, the
    // whole arena at the top.
    let y = |bytes: usize| -> i64 {
        if total == 0 {
            return bottom * 10;
        }
        let from_bottom = (bytes as f64 / total as f64 * (PLOT_HEIGHT * 10) as f64).round();
        bottom * 10 - from_bottom as i64
    };
    let x = |step: usize| LEFT + step as i64 * step_width;

    let mut caption = vec![
        "Each rectangle is one buffer of the arena: its bytes (up) while it is live (across), from"
            .to_string(),
        "the layer that writes it to the last layer that reads it. Tensors that share a buffer"
            .to_string(),
        "(views, layers that run in place) are one rectangle. Hover for names, shapes and steps."
            .to_string(),
        "Not drawn: the model's inputs and outputs (the caller's buffers), its state, its weights"
            .to_string(),
        "(static data) and tensors without elements, which take no arena space.".to_string(),
    ];
    if report.memory.arenas.len() > 1 {
        let mut base = 0;
        let places: Vec<String> = report
            .memory
            .arenas
            .iter()
            .map(|a| {
                let place = format!("arena_{} from {}", a.dtype, group_digits(base as u64));
                base += a.bytes;
                place
            })
            .collect();
        caption.push(format!(
            "The arenas are drawn one above the other (dotted lines): {} bytes.",
            places.join(", ")
        ));
    }
    if total == 0 {
        caption.push("This model needs no arena.".to_string());
    }
    let legend_top = bottom + 48;
    let caption_top = legend_top + 2 * CAPTION_LINE_HEIGHT + 12;
    let height = caption_top + caption.len() as i64 * CAPTION_LINE_HEIGHT + 8;

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"11\">"
    );
    let _ = writeln!(
        svg,
        "{}",
        title(&format!("Memory timeline of {}", report.model))
    );
    let _ = writeln!(
        svg,
        "<rect width=\"{width}\" height=\"{height}\" fill=\"#ffffff\"/>"
    );
    let _ = writeln!(
        svg,
        "<text x=\"{LEFT}\" y=\"22\" font-size=\"15\" font-weight=\"bold\">{}: memory timeline</text>",
        escape_markup(&report.model)
    );
    let _ = writeln!(
        svg,
        "<text x=\"{LEFT}\" y=\"40\" fill=\"#444444\">{} steps, {} arena buffers, ARENA_BYTES {} bytes, lower bound {} bytes</text>",
        report.layers.len(),
        buffers.len(),
        group_digits(total as u64),
        group_digits(report.totals.arena_lower_bound_bytes as u64)
    );

    // Steps: a column per layer, shaded every other one, with the layer as its tooltip.
    let _ = writeln!(svg, "<g class=\"steps\">");
    for step in 0..n_steps {
        let fill = if step % 2 == 0 { "#f4f4f4" } else { "#fbfbfb" };
        let tooltip = report.layers.get(step).map_or(format!("step {step}"), |l| {
            format!("step {step}: {} {}", l.op, l.name)
        });
        let _ = writeln!(
            svg,
            "<rect class=\"step\" x=\"{}\" y=\"{TOP}\" width=\"{step_width}\" height=\"{PLOT_HEIGHT}\" fill=\"{fill}\">{}</rect>",
            x(step),
            title(&tooltip)
        );
    }
    let _ = writeln!(svg, "</g>");

    // Offsets: grid lines and labels.
    let _ = writeln!(
        svg,
        "<g class=\"offsets\" fill=\"#444444\" text-anchor=\"end\">"
    );
    if total > 0 {
        let interval = tick_interval(total);
        for tick in (0..=total).step_by(interval) {
            let ty = tenths(y(tick));
            let _ = writeln!(
                svg,
                "<line x1=\"{LEFT}\" y1=\"{ty}\" x2=\"{}\" y2=\"{ty}\" stroke=\"#dddddd\"/>",
                LEFT + plot_width
            );
            let _ = writeln!(
                svg,
                "<text x=\"{}\" y=\"{}\">{}</text>",
                LEFT - 6,
                tenths(y(tick) + 35),
                if tick == 0 {
                    "0".to_string()
                } else {
                    format_bytes(tick)
                }
            );
        }
    }
    let _ = writeln!(
        svg,
        "<text transform=\"translate(14 {}) rotate(-90)\" text-anchor=\"middle\">arena offset</text>",
        TOP + PLOT_HEIGHT / 2
    );
    let _ = writeln!(svg, "</g>");

    // The buffers.
    let _ = writeln!(svg, "<g class=\"buffers\">");
    for b in &buffers {
        let (top, low) = (y(b.end), y(b.start));
        let (left, right) = (x(b.first_step), x(b.last_step + 1));
        let _ = writeln!(
            svg,
            "<rect class=\"buffer\" x=\"{left}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" \
             stroke=\"#333333\" stroke-opacity=\"0.5\" stroke-width=\"0.5\">{}</rect>",
            tenths(top),
            right - left,
            tenths(low - top),
            colour(b.index),
            title(&buffer_title(report, b))
        );
    }
    let _ = writeln!(svg, "</g>");

    // Labels, where they fit: the first tensor's name, or else the buffer's size.
    let _ = writeln!(
        svg,
        "<g class=\"labels\" font-size=\"10\" fill=\"#222222\" text-anchor=\"middle\" pointer-events=\"none\">"
    );
    for b in &buffers {
        let (top, low) = (y(b.end), y(b.start));
        let (left, right) = (x(b.first_step), x(b.last_step + 1));
        if low - top < 130 {
            continue;
        }
        let room = (right - left - 6) as f64;
        let fits = |s: &str| s.chars().count() as f64 * LABEL_CHAR_WIDTH <= room;
        let name = &b.tensors[0].name;
        let size = format_bytes(b.end - b.start);
        let label = if fits(name) {
            name.as_str()
        } else if fits(&size) {
            size.as_str()
        } else {
            continue;
        };
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\">{}</text>",
            (left + right) / 2,
            tenths((top + low) / 2 + 35),
            escape_markup(label)
        );
    }
    let _ = writeln!(svg, "</g>");

    // ARENA_BYTES, the lower bound and the separations between arenas.
    let arena_y = tenths(y(total));
    let _ = writeln!(
        svg,
        "<line class=\"arena-bytes\" x1=\"{LEFT}\" y1=\"{arena_y}\" x2=\"{}\" y2=\"{arena_y}\" stroke=\"#b22222\" stroke-width=\"1.5\"/>",
        LEFT + plot_width
    );
    let bound_y = tenths(y(report.totals.arena_lower_bound_bytes));
    let _ = writeln!(
        svg,
        "<line class=\"lower-bound\" x1=\"{LEFT}\" y1=\"{bound_y}\" x2=\"{}\" y2=\"{bound_y}\" stroke=\"#1f4e9a\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>",
        LEFT + plot_width
    );
    let mut base = 0;
    for arena in report
        .memory
        .arenas
        .iter()
        .take(report.memory.arenas.len().saturating_sub(1))
    {
        base += arena.bytes;
        let ty = tenths(y(base));
        let _ = writeln!(
            svg,
            "<line class=\"arena-end\" x1=\"{LEFT}\" y1=\"{ty}\" x2=\"{}\" y2=\"{ty}\" stroke=\"#333333\" stroke-dasharray=\"1 3\"/>",
            LEFT + plot_width
        );
    }
    let _ = writeln!(
        svg,
        "<line x1=\"{LEFT}\" y1=\"{bottom}\" x2=\"{}\" y2=\"{bottom}\" stroke=\"#333333\"/>",
        LEFT + plot_width
    );
    let _ = writeln!(
        svg,
        "<line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{bottom}\" stroke=\"#333333\"/>"
    );

    // Steps along the bottom: as many labels as fit.
    let every = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
        .into_iter()
        .find(|k| k * step_width >= 24)
        .unwrap_or(1000) as usize;
    let _ = writeln!(
        svg,
        "<g class=\"step-labels\" fill=\"#444444\" text-anchor=\"middle\">"
    );
    for step in (0..n_steps).step_by(every) {
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\">{step}</text>",
            x(step) + step_width / 2,
            bottom + 16
        );
    }
    let _ = writeln!(
        svg,
        "<text x=\"{}\" y=\"{}\">step (layer index; hover a column for its layer)</text>",
        LEFT + plot_width / 2,
        bottom + 34
    );
    let _ = writeln!(svg, "</g>");

    // Legend and caption.
    let legend = [
        (
            "stroke=\"#b22222\"",
            format!(
                "ARENA_BYTES: {} bytes ({}), the arena the generated Model holds",
                group_digits(total as u64),
                format_bytes(total)
            ),
        ),
        (
            "stroke=\"#1f4e9a\" stroke-dasharray=\"6 4\"",
            format!(
                "lower bound: {} bytes, the most bytes live at any one step",
                group_digits(report.totals.arena_lower_bound_bytes as u64)
            ),
        ),
    ];
    let _ = writeln!(svg, "<g class=\"legend\">");
    for (k, (stroke, text)) in legend.iter().enumerate() {
        let line_y = legend_top + k as i64 * CAPTION_LINE_HEIGHT;
        let _ = writeln!(
            svg,
            "<line x1=\"{LEFT}\" y1=\"{line_y}\" x2=\"{}\" y2=\"{line_y}\" {stroke} stroke-width=\"1.5\"/>",
            LEFT + 28
        );
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\">{}</text>",
            LEFT + 36,
            line_y + 4,
            escape_markup(text)
        );
    }
    let _ = writeln!(svg, "</g>");
    let _ = writeln!(svg, "<g class=\"caption\" fill=\"#555555\">");
    for (k, line) in caption.iter().enumerate() {
        let _ = writeln!(
            svg,
            "<text x=\"{LEFT}\" y=\"{}\">{}</text>",
            caption_top + k as i64 * CAPTION_LINE_HEIGHT,
            escape_markup(line)
        );
    }
    let _ = writeln!(svg, "</g>");
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenths_are_printed_as_decimals() {
        assert_eq!(tenths(0), "0.0");
        assert_eq!(tenths(4165), "416.5");
        assert_eq!(tenths(30), "3.0");
    }

    #[test]
    fn ticks_are_powers_of_two() {
        assert_eq!(tick_interval(55_296), 8_192);
        assert_eq!(tick_interval(10_240), 2_048);
        assert_eq!(tick_interval(40), 16);
    }

    #[test]
    fn colours_are_fixed_by_the_index() {
        assert_eq!(colour(0), colour(0));
        assert_ne!(colour(0), colour(1));
        assert!(colour(7).starts_with('#') && colour(7).len() == 7);
    }
}

//! Drawing `expvar watch`: a column per target (or, when they do not fit, the chosen
//! target with a tab line), a row per value with a sparkline, and a large sparkline of
//! the chosen value at the bottom.

use std::time::{Duration, Instant};

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Sparkline};
use ratatui::Frame;

use super::model::{Panel, Row, Status};
use crate::terminal::clean;
use crate::units::{format, format_rate};

/// The narrowest column a target gets before targets are shown one at a time.
const MIN_COLUMN: u16 = 34;
/// How long a restart stays flagged in a panel's title.
const RESTART_FLAG: Duration = Duration::from_secs(30);
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// Everything the screen shows.
pub struct Screen<'a> {
    pub panels: &'a [Panel],
    pub selected_target: usize,
    pub selected_row: usize,
    pub paused: bool,
    pub interval: Duration,
    pub now: Instant,
}

/// Draws the whole screen.
pub fn draw(frame: &mut Frame<'_>, screen: &Screen<'_>) {
    let [title, body, detail, keys] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(6),
        Constraint::Length(1),
    ])
    .areas(frame.area());

    let up = screen
        .panels
        .iter()
        .filter(|panel| panel.status == Status::Up)
        .count();
    let mut heading = vec![Span::styled(
        format!(
            " expvar watch  {up}/{} up  every {}",
            screen.panels.len(),
            format(screen.interval.as_secs_f64(), crate::units::Unit::Seconds)
        ),
        Style::default().add_modifier(Modifier::BOLD),
    )];
    if screen.paused {
        heading.push(Span::styled(
            "  PAUSED",
            Style::default()
                .fg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(heading)), title);

    let count = screen.panels.len().max(1) as u16;
    if body.width / count >= MIN_COLUMN {
        let columns = Layout::horizontal(vec![Constraint::Ratio(1, count as u32); count as usize])
            .split(body);
        for (index, (panel, area)) in screen.panels.iter().zip(columns.iter()).enumerate() {
            draw_panel(frame, *area, panel, screen, index == screen.selected_target);
        }
    } else if let Some(panel) = screen.panels.get(screen.selected_target) {
        let [tabs, area] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(2)]).areas(body);
        frame.render_widget(Paragraph::new(tab_line(screen, tabs.width as usize)), tabs);
        draw_panel(frame, area, panel, screen, true);
    }

    draw_detail(frame, detail, screen);
    frame.render_widget(
        Paragraph::new(" q quit  p pause  ←/→ tab target  ↑/↓ variable")
            .style(Style::default().fg(Color::DarkGray)),
        keys,
    );
}

fn status_style(status: &Status) -> (char, Style) {
    match status {
        Status::Up => ('●', Style::default().fg(Color::Green)),
        Status::Down(_) => ('✗', Style::default().fg(Color::Red)),
        Status::TooLarge(_) => ('!', Style::default().fg(Color::Yellow)),
        Status::Waiting => ('…', Style::default().fg(Color::DarkGray)),
    }
}

fn tab_line(screen: &Screen<'_>, width: usize) -> Line<'static> {
    let tabs: Vec<(String, Style)> = screen
        .panels
        .iter()
        .enumerate()
        .map(|(index, panel)| {
            let (mark, mut style) = status_style(&panel.status);
            if index == screen.selected_target {
                style = style.add_modifier(Modifier::REVERSED);
            }
            (format!(" {mark} {} ", clean(&panel.name)), style)
        })
        .collect();
    // Start late enough that the chosen target's tab is on screen.
    let mut first = 0;
    while first < screen.selected_target
        && tabs[first..=screen.selected_target]
            .iter()
            .map(|(text, _)| text.chars().count())
            .sum::<usize>()
            + 1
            > width
    {
        first += 1;
    }
    let mut spans = Vec::new();
    if first > 0 {
        spans.push(Span::raw("…"));
    }
    spans.extend(
        tabs.into_iter()
            .skip(first)
            .map(|(text, style)| Span::styled(text, style)),
    );
    Line::from(spans)
}

fn draw_panel(frame: &mut Frame<'_>, area: Rect, panel: &Panel, screen: &Screen<'_>, chosen: bool) {
    let (mark, style) = status_style(&panel.status);
    let mut title = vec![
        Span::styled(format!(" {mark} "), style),
        Span::styled(
            clean(&panel.name).into_owned(),
            Style::default().add_modifier(Modifier::BOLD),
        ),
    ];
    match &panel.status {
        Status::Down(reason) => {
            title.push(Span::styled(format!(" DOWN: {} ", clean(reason)), style));
        }
        Status::TooLarge(reason) => {
            let reason = clean(reason);
            let limit = reason.strip_prefix("too large: ").unwrap_or(&reason);
            title.push(Span::styled(format!(" TOO LARGE: {limit} "), style));
        }
        Status::Waiting => title.push(Span::raw(" connecting ")),
        Status::Up => title.push(Span::raw(" ")),
    }
    if panel.hidden > 0 {
        title.push(Span::styled(
            format!("+{} rows not shown ", panel.hidden),
            Style::default().fg(Color::DarkGray),
        ));
    }
    if panel.restarts > 0 {
        let recent = panel
            .restarted_at
            .is_some_and(|at| screen.now.saturating_duration_since(at) < RESTART_FLAG);
        let text = format!("↻{} ", panel.restarts);
        let style = if recent {
            Style::default().fg(Color::Black).bg(Color::Yellow)
        } else {
            Style::default().fg(Color::Yellow)
        };
        title.push(Span::styled(text, style));
    }
    let border = if chosen {
        Style::default().fg(Color::Cyan)
    } else {
        Style::default()
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(border)
        .title(Line::from(title));
    let inner = block.inner(area);
    frame.render_widget(block, area);

    let stale = !matches!(panel.status, Status::Up);
    let width = inner.width as usize;
    let value_width = 9;
    let spark_width = (width / 5).clamp(0, 20);
    let name_width = width.saturating_sub(value_width + spark_width + 2);
    // Scroll so the chosen row stays visible.
    let visible = inner.height as usize;
    let first = screen
        .selected_row
        .saturating_sub(visible.saturating_sub(1));
    let lines: Vec<Line<'_>> = panel
        .rows
        .iter()
        .enumerate()
        .skip(first)
        .take(visible)
        .map(|(index, row)| {
            let mut style = if stale {
                Style::default().fg(Color::DarkGray)
            } else {
                Style::default()
            };
            if chosen && index == screen.selected_row {
                style = style.add_modifier(Modifier::REVERSED);
            }
            let spark = sparkline_text(&row.history, spark_width);
            Line::from(vec![
                Span::styled(
                    format!(
                        "{:<name_width$} {:>value_width$}",
                        truncate(&clean(&row.path), name_width),
                        shown_value(row)
                    ),
                    style,
                ),
                Span::raw(" "),
                Span::styled(spark, Style::default().fg(Color::Green)),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn draw_detail(frame: &mut Frame<'_>, area: Rect, screen: &Screen<'_>) {
    let Some(panel) = screen.panels.get(screen.selected_target) else {
        return;
    };
    let Some(row) = panel.rows.get(screen.selected_row) else {
        frame.render_widget(
            Block::default()
                .borders(Borders::ALL)
                .title(format!(" {} ", clean(&panel.name))),
            area,
        );
        return;
    };
    let (low, high) = bounds(row.history.iter().copied());
    let range = if row.history.is_empty() {
        String::new()
    } else {
        format!("  min {}  max {}", shown(row, low), shown(row, high))
    };
    let block = Block::default().borders(Borders::ALL).title(format!(
        " {} {}: {}{range} ",
        clean(&panel.name),
        clean(&row.path),
        shown_value(row)
    ));
    let width = block.inner(area).width as usize;
    let data = scaled(row.history.iter().rev().take(width).rev().copied());
    frame.render_widget(
        Sparkline::default()
            .block(block)
            .data(&data)
            .max(1000)
            .style(Style::default().fg(Color::Cyan)),
        area,
    );
}

fn shown(row: &Row, value: f64) -> String {
    if row.rate {
        format_rate(value, row.unit)
    } else {
        format(value, row.unit)
    }
}

fn shown_value(row: &Row) -> String {
    match row.value {
        Some(value) => shown(row, value),
        None => "-".to_owned(),
    }
}

fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), value| {
        (low.min(value), high.max(value))
    })
}

/// Values scaled to 0..=1000 between their minimum and maximum (a flat series sits
/// mid-height), for ratatui's integer sparkline.
fn scaled(values: impl Iterator<Item = f64> + Clone) -> Vec<u64> {
    let (low, high) = bounds(values.clone());
    values
        .map(|value| {
            if high > low {
                ((value - low) / (high - low) * 999.0) as u64 + 1
            } else {
                500
            }
        })
        .collect()
}

/// The last `width` values as a line of block characters.
fn sparkline_text(history: &std::collections::VecDeque<f64>, width: usize) -> String {
    let recent = history
        .iter()
        .skip(history.len().saturating_sub(width))
        .copied();
    scaled(recent)
        .into_iter()
        .map(|level| BARS[((level.saturating_sub(1)) as usize * BARS.len() / 1000).min(7)])
        .collect()
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_owned()
    } else if width == 0 {
        String::new()
    } else {
        // Keep the end: the field name tells more than the prefix.
        let tail: String = text
            .chars()
            .rev()
            .take(width - 1)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("…{tail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watch::model::Options;
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;
    use serde_json::json;

    fn text_of(panels: &[Panel], selected_target: usize, width: u16) -> String {
        let mut terminal = Terminal::new(TestBackend::new(width, 24)).unwrap();
        let screen = Screen {
            panels,
            selected_target,
            selected_row: 1,
            paused: true,
            interval: Duration::from_secs(1),
            now: Instant::now(),
        };
        terminal.draw(|frame| draw(frame, &screen)).unwrap();
        let buffer = terminal.backend().buffer();
        let mut text = String::new();
        for y in 0..buffer.area.height {
            for x in 0..buffer.area.width {
                text.push_str(buffer[(x, y)].symbol());
            }
            text.push('\n');
        }
        text
    }

    fn panels() -> Vec<Panel> {
        let start = Instant::now();
        let options = Options::default();
        let mut go = Panel::new("127.0.0.1:9101");
        for (second, heap) in [(0, 1u64 << 20), (1, 3 << 20)] {
            go.update(
                &json!({"memstats": {"HeapAlloc": heap}, "requests_total": second * 5}),
                start + Duration::from_secs(second),
                &options,
            );
        }
        let mut down = Panel::new("127.0.0.1:6060");
        down.failed("connection refused".into());
        vec![go, down]
    }

    #[test]
    fn two_targets_side_by_side_in_80_columns() {
        let text = text_of(&panels(), 0, 80);
        assert!(text.contains("127.0.0.1:9101"), "{text}");
        assert!(text.contains("DOWN: connection"), "{text}");
        assert!(text.contains("memstats.HeapAlloc"), "{text}");
        assert!(text.contains("3.0 MiB"), "{text}");
        assert!(text.contains("requests_total             5/s"), "{text}");
        assert!(text.contains("PAUSED"), "{text}");
        assert!(text.contains("1/2 up"), "{text}");
        // The detail shows the chosen row of the chosen target.
        assert!(
            text.contains("127.0.0.1:9101 requests_total: 5/s"),
            "{text}"
        );
    }

    #[test]
    fn narrow_screens_show_one_target_with_tabs() {
        let text = text_of(&panels(), 1, 50);
        assert!(text.contains("● 127.0.0.1:9101"), "{text}");
        assert!(text.contains("DOWN"), "{text}");
        assert!(!text.contains("3.0 MiB"), "{text}");
    }

    #[test]
    fn the_chosen_target_tab_stays_on_screen() {
        let many: Vec<Panel> = (0..20)
            .map(|n| Panel::new(format!("127.0.0.1:{}", 6000 + n)))
            .collect();
        let text = text_of(&many, 17, 80);
        assert!(text.contains("127.0.0.1:6017"), "{text}");
        assert!(!text.contains("127.0.0.1:6000 "), "{text}");
    }

    #[test]
    fn nothing_from_a_target_reaches_the_terminal_as_a_control_sequence() {
        let start = Instant::now();
        let hostile = json!({
            "\u{1b}]2;PWNED\u{7}title": 1,
            "\u{1b}[2J": 2,
            "\u{9b}31m": 3,
            "abc\u{202e}fed": 4,
        });
        let mut panel = Panel::new("127.0.0.1:1\u{1b}[5m");
        panel.update(&hostile, start, &Options::default());
        let mut down = Panel::new("127.0.0.1:2");
        down.failed("refused \u{1b}]0;x\u{7}".into());
        let mut big = Panel::new("127.0.0.1:3");
        big.too_large("too large: over 10 bytes (--max-bytes)".into());
        let panels = [panel, down, big];
        for width in [120, 50] {
            for selected in 0..panels.len() {
                let text = text_of(&panels, selected, width);
                assert!(
                    !text.contains(|c: char| c.is_control() && c != '\n' || c == '\u{202e}'),
                    "{text:?}"
                );
                if selected == 0 {
                    assert!(text.contains("\u{FFFD}]2;PWNED\u{FFFD}title"), "{text}");
                }
            }
        }
        let text = text_of(&panels[2..], 0, 120);
        assert!(text.contains("TOO LARGE: over 10 bytes"), "{text}");
    }

    #[test]
    fn sparklines_and_names_fit() {
        let history = [1.0, 2.0, 3.0, 4.0].into_iter().collect();
        assert_eq!(sparkline_text(&history, 3), "▁▄█");
        assert_eq!(truncate("memstats.HeapAlloc", 8), "…apAlloc");
        assert_eq!(scaled([2.0, 2.0].into_iter()), [500, 500]);
    }
}

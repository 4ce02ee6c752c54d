//! PNG charts (plotters, bitmap backend, a font shipped in `assets/`).
use crate::{Error, Result};
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

static FONT: Once = Once::new();

/// Registers the shipped DejaVu Sans as plotters' sans-serif font (no system fonts needed).
pub fn register_font() {
    FONT.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
        if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_err() {
            tracing::warn!("could not register the plot font");
        }
    });
}

fn err(e: impl std::fmt::Display) -> Error {
    Error::Invalid(format!("plot: {e}"))
}

type Chart<'a, 'b> = ChartContext<'a, BitMapBackend<'b>, Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>>;

/// A white 720×420 chart with a title, one x tick per label, and the y range.
fn frame<'a, 'b>(root: &'a DrawingArea<BitMapBackend<'b>, plotters::coord::Shift>, title: &str, x: &[String], y: (f64, f64)) -> Result<Chart<'a, 'b>> {
    register_font();
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(48)
        .build_cartesian_2d(-0.5f64..(x.len() as f64 - 0.5), y.0..y.1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_labels(x.len().max(2))
        .x_label_formatter(&|v| x.get(v.round() as usize).cloned().unwrap_or_default())
        .draw()
        .map_err(err)?;
    Ok(chart)
}

/// One line per series over the x labels; values may be missing (NaN).
pub fn lines(path: &Path, title: &str, x: &[String], series: &[(&str, Vec<f64>)], y_range: (f64, f64)) -> Result<()> {
    let root = BitMapBackend::new(path, (720, 420)).into_drawing_area();
    let mut chart = frame(&root, title, x, y_range)?;
    for (k, (name, ys)) in series.iter().enumerate() {
        let color = Palette99::pick(k).to_rgba();
        let pts: Vec<(f64, f64)> = ys.iter().enumerate().filter(|(_, y)| y.is_finite()).map(|(i, y)| (i as f64, *y)).collect();
        chart
            .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
            .map_err(err)?
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2)));
        chart.draw_series(pts.iter().map(|p| Circle::new(*p, 4, color.filled()))).map_err(err)?;
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(err)?;
    root.present().map_err(err)
}

/// Grouped bars: for each group (x label), one bar per series.
pub fn bars(path: &Path, title: &str, groups: &[String], series: &[(&str, Vec<f64>)], y_max: f64) -> Result<()> {
    let root = BitMapBackend::new(path, (720, 420)).into_drawing_area();
    let mut chart = frame(&root, title, groups, (0.0, y_max))?;
    let n = series.len().max(1) as f64;
    let w = 0.8 / n;
    for (k, (name, ys)) in series.iter().enumerate() {
        let color = Palette99::pick(k).to_rgba();
        let rects: Vec<Rectangle<(f64, f64)>> = ys
            .iter()
            .enumerate()
            .map(|(i, y)| {
                let x0 = i as f64 - 0.4 + k as f64 * w;
                Rectangle::new([(x0, 0.0), (x0 + w * 0.9, *y)], color.filled())
            })
            .collect();
        chart
            .draw_series(rects)
            .map_err(err)?
            .label(*name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(err)?;
    root.present().map_err(err)
}

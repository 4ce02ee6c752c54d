//! Charts as data: a [`Figure`] says what to draw; it renders to SVG (inline in
//! notebooks) or PNG (reports) with plotters and a font shipped in `assets/`, so
//! no system fonts or libraries are needed.
use crate::show::{chart_err, Svg};
use crate::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

/// One named row of values; NaN marks a missing value (not drawn).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub values: Vec<f64>,
}

impl Series {
    pub fn new(name: impl Into<String>, values: Vec<f64>) -> Self {
        Self { name: name.into(), values }
    }
}

/// What a figure draws.
#[derive(Debug, Clone, PartialEq)]
pub enum Plot {
    /// One line with markers per series over categorical x labels.
    Lines { x: Vec<String>, series: Vec<Series>, y_range: (f64, f64) },
    /// Grouped bars: per x label, one bar per series, from 0 up.
    Bars { x: Vec<String>, series: Vec<Series>, y_max: f64 },
    /// A matrix of values (`values[row][col]`), shaded and labelled with `digits` decimals.
    Heatmap { rows: Vec<String>, cols: Vec<String>, values: Vec<Vec<f64>>, digits: usize },
    /// Labelled points over numeric axes, with dashed lines at `y = 0` and `x = 0.5` (chance).
    Scatter { points: Vec<(String, f64, f64)>, x_range: (f64, f64), y_range: (f64, f64) },
}

/// A titled chart with axis descriptions.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub title: String,
    pub x_desc: String,
    pub y_desc: String,
    pub plot: Plot,
    /// Pixel size.
    pub size: (u32, u32),
}

static FONT: Once = Once::new();

/// Registers the shipped DejaVu Sans as plotters' sans-serif font.
pub fn register_font() {
    FONT.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
        // A failure leaves text unmeasured; drawing then reports its own error.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, bytes);
    });
}

/// The largest finite value (1 when there is none or it is not positive), for axis ranges.
pub fn max_of<'a>(values: impl IntoIterator<Item = &'a f64>) -> f64 {
    let m = values.into_iter().copied().filter(|v| v.is_finite()).fold(f64::NEG_INFINITY, f64::max);
    if m > 0.0 { m } else { 1.0 }
}

impl Figure {
    pub fn new(title: impl Into<String>, plot: Plot) -> Self {
        Self { title: title.into(), x_desc: String::new(), y_desc: String::new(), plot, size: (720, 420) }
    }

    /// Axis descriptions.
    pub fn axes(mut self, x: impl Into<String>, y: impl Into<String>) -> Self {
        self.x_desc = x.into();
        self.y_desc = y.into();
        self
    }

    pub fn size(mut self, w: u32, h: u32) -> Self {
        self.size = (w, h);
        self
    }

    /// Renders to an SVG document.
    pub fn svg(&self) -> Result<Svg> {
        let mut s = String::new();
        {
            let root = SVGBackend::with_string(&mut s, self.size).into_drawing_area();
            self.draw(&root)?;
        }
        Ok(Svg(s))
    }

    /// Renders to a PNG file (atomically: drawn beside it, then renamed).
    pub fn png(&self, path: &Path) -> Result<()> {
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| crate::Error::io(dir, e))?;
        let tmp = dir.join(format!(".{}.tmp.png", path.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()));
        {
            let root = BitMapBackend::new(&tmp, self.size).into_drawing_area();
            self.draw(&root)?;
        }
        std::fs::rename(&tmp, path).map_err(|e| crate::Error::io(path, e))
    }

    /// Writes `<dir>/<name>.png` and returns the SVG, for a notebook cell to show.
    pub fn show(&self, dir: &Path, name: &str) -> Result<Svg> {
        self.png(&dir.join(format!("{name}.png")))?;
        self.svg()
    }

    fn draw_scatter<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, points: &[(String, f64, f64)], xr: (f64, f64), yr: (f64, f64)) -> Result<()> {
        let e = chart_err(&self.title);
        let err = |x: DrawingAreaErrorKind<DB::ErrorType>| e(x.to_string());
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(56)
            .build_cartesian_2d(xr.0..xr.1, yr.0..yr.1)
            .map_err(err)?;
        chart.configure_mesh().x_desc(&self.x_desc).y_desc(&self.y_desc).draw().map_err(err)?;
        chart.draw_series(DashedLineSeries::new(vec![(xr.0, 0.0), (xr.1, 0.0)], 6, 4, BLACK.stroke_width(1))).map_err(err)?;
        // Chance, where x is an accuracy.
        if xr.0 < 0.5 && xr.1 > 0.5 {
            chart.draw_series(DashedLineSeries::new(vec![(0.5, yr.0), (0.5, yr.1)], 6, 4, RGBColor(150, 150, 150).stroke_width(1))).map_err(err)?;
        }
        for (k, (label, x, y)) in points.iter().enumerate() {
            let color = Palette99::pick(k).to_rgba();
            chart.draw_series(std::iter::once(Circle::new((*x, *y), 5, color.filled()))).map_err(err)?;
            let style = ("sans-serif", 12).into_font().color(&BLACK);
            chart.draw_series(std::iter::once(Text::new(label.clone(), (*x, *y), style))).map_err(err)?;
        }
        root.present().map_err(err)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        register_font();
        let e = chart_err(&self.title);
        let err = |x: DrawingAreaErrorKind<DB::ErrorType>| e(x.to_string());
        root.fill(&WHITE).map_err(err)?;
        if let Plot::Scatter { points, x_range, y_range } = &self.plot {
            return self.draw_scatter(root, points, *x_range, *y_range);
        }
        let (x_labels, y_range, rows) = match &self.plot {
            Plot::Lines { x, y_range, .. } => (x.clone(), *y_range, vec![]),
            Plot::Bars { x, y_max, .. } => (x.clone(), (0.0, *y_max), vec![]),
            Plot::Heatmap { rows, cols, .. } => (cols.clone(), (-0.5, rows.len() as f64 - 0.5), rows.clone()),
            Plot::Scatter { .. } => unreachable!("drawn above"),
        };
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(if rows.is_empty() { 56 } else { 90 })
            .build_cartesian_2d(-0.5f64..(x_labels.len() as f64 - 0.5), y_range.0..y_range.1)
            .map_err(err)?;
        let xf = |v: &f64| {
            let i = v.round();
            if (v - i).abs() < 1e-6 && i >= 0.0 { x_labels.get(i as usize).cloned().unwrap_or_default() } else { String::new() }
        };
        let yf = |v: &f64| {
            let i = v.round();
            if (v - i).abs() < 1e-6 && i >= 0.0 { rows.get(rows.len().wrapping_sub(1 + i as usize)).cloned().unwrap_or_default() } else { String::new() }
        };
        let mut mesh = chart.configure_mesh();
        mesh.x_labels(x_labels.len().max(2)).x_label_formatter(&xf).x_desc(&self.x_desc).y_desc(&self.y_desc);
        if !rows.is_empty() {
            mesh.y_labels(rows.len().max(2)).y_label_formatter(&yf).disable_mesh();
        }
        mesh.draw().map_err(err)?;
        match &self.plot {
            Plot::Lines { series, .. } => {
                for (k, s) in series.iter().enumerate() {
                    let color = Palette99::pick(k).to_rgba();
                    let pts: Vec<(f64, f64)> = s.values.iter().enumerate().filter(|(_, y)| y.is_finite()).map(|(i, y)| (i as f64, *y)).collect();
                    chart
                        .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
                        .map_err(err)?
                        .label(s.name.as_str())
                        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2)));
                    chart.draw_series(pts.iter().map(|p| Circle::new(*p, 4, color.filled()))).map_err(err)?;
                }
                chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(err)?;
            }
            Plot::Bars { series, .. } => {
                let w = 0.8 / series.len().max(1) as f64;
                for (k, s) in series.iter().enumerate() {
                    let color = Palette99::pick(k).to_rgba();
                    let rects: Vec<_> = s
                        .values
                        .iter()
                        .enumerate()
                        .filter(|(_, y)| y.is_finite())
                        .map(|(i, y)| {
                            let x0 = i as f64 - 0.4 + k as f64 * w;
                            Rectangle::new([(x0, 0.0), (x0 + w * 0.9, *y)], color.filled())
                        })
                        .collect();
                    chart
                        .draw_series(rects)
                        .map_err(err)?
                        .label(s.name.as_str())
                        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
                }
                chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(err)?;
            }
            Plot::Scatter { .. } => {}
            Plot::Heatmap { rows, values, digits, .. } => {
                let hi = values.iter().flatten().copied().filter(|v| v.is_finite()).fold(f64::NEG_INFINITY, f64::max);
                let lo = values.iter().flatten().copied().filter(|v| v.is_finite()).fold(f64::INFINITY, f64::min);
                let span = if hi > lo { hi - lo } else { 1.0 };
                let n = rows.len();
                for (r, row) in values.iter().enumerate() {
                    let y = (n - 1 - r) as f64;
                    for (c, v) in row.iter().enumerate() {
                        let x = c as f64;
                        let (fill, label) = if v.is_finite() {
                            let a = (v - lo) / span;
                            (RGBColor((255.0 - 200.0 * a) as u8, (255.0 - 140.0 * a) as u8, 255).filled(), format!("{v:.digits$}"))
                        } else {
                            (RGBColor(235, 235, 235).filled(), "–".to_string())
                        };
                        chart.draw_series(std::iter::once(Rectangle::new([(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)], fill))).map_err(err)?;
                        let style = ("sans-serif", 14).into_font().color(&BLACK).pos(plotters::style::text_anchor::Pos::new(
                            plotters::style::text_anchor::HPos::Center,
                            plotters::style::text_anchor::VPos::Center,
                        ));
                        chart.draw_series(std::iter::once(Text::new(label, (x, y), style))).map_err(err)?;
                    }
                }
            }
        }
        root.present().map_err(err)
    }
}

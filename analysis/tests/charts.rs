//! Charts render to SVG with one element per drawn value, and to PNG files.
use analysis::charts::{Figure, Plot, Series};

#[test]
fn bars_lines_and_heatmaps_draw_what_they_are_given() {
    let x: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
    let bars = Figure::new("bars", Plot::Bars { x: x.clone(), series: vec![Series::new("s1", vec![1.0, 2.0, f64::NAN]), Series::new("s2", vec![3.0, 1.0, 2.0])], y_max: 4.0 });
    let none = Figure::new("bars", Plot::Bars { x: x.clone(), series: vec![], y_max: 4.0 }).svg().unwrap();
    // Five finite values -> five bars more than an empty chart (both draw the legend box),
    // plus one legend swatch per series.
    assert_eq!(bars.svg().unwrap().count("rect") - none.count("rect"), 5 + 2, "bars + swatches");
    let lines = Figure::new("lines", Plot::Lines { x: x.clone(), series: vec![Series::new("s", vec![0.1, f64::NAN, 0.3])], y_range: (0.0, 1.0) }).svg().unwrap();
    assert_eq!(lines.count("circle"), 2, "a missing value draws no marker");
    let heat = Figure::new("heat", Plot::Heatmap { rows: vec!["r1".into(), "r2".into()], cols: x.clone(), values: vec![vec![1.0, 2.0, 3.0], vec![4.0, f64::NAN, 6.0]], digits: 0 }).svg().unwrap();
    for label in ["1", "4", "6", "–", "r1", "r2"] {
        assert!(heat.0.contains(&format!(">\n{label}\n<")), "heatmap lacks {label}");
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("sub/bars.png");
    let svg = bars.show(&dir.path().join("sub"), "bars").unwrap();
    assert!(svg.0.starts_with("<svg"));
    let bytes = std::fs::read(&p).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
    assert_eq!(std::fs::read_dir(dir.path().join("sub")).unwrap().count(), 1, "no temporary file left");
}

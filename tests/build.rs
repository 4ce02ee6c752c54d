//! Generates `$OUT_DIR/notebooks.rs`: one function per notebook in `../notebooks`,
//! holding its code cells (see `notebook_extract.rs`).
#[path = "notebook_extract.rs"]
mod notebook_extract;

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../notebooks");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ipynb"))
        .collect();
    names.sort();
    let mut code = String::new();
    let mut list = vec![];
    for p in &names {
        println!("cargo:rerun-if-changed={}", p.display());
        let stem = p.file_stem().unwrap().to_string_lossy().to_string();
        let fn_name = format!("notebook_{}", stem.replace(|c: char| !c.is_ascii_alphanumeric(), "_"));
        let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let label = format!("notebooks/{stem}.ipynb");
        code.push_str(&notebook_extract::extract(&label, &fn_name, &text).unwrap_or_else(|e| panic!("{e}")));
        list.push(format!("(\"{stem}\", {fn_name} as fn() -> Result<(), Box<dyn std::error::Error>>)"));
    }
    code.push_str(&format!("pub const NOTEBOOKS: &[(&str, fn() -> Result<(), Box<dyn std::error::Error>>)] = &[{}];\n", list.join(", ")));
    let out = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("notebooks.rs");
    std::fs::write(out, code).unwrap();
}

//! The workbook in LibreOffice (headless): opened with recalculation forced, every formula
//! cell's recalculated value (the calculator and the Erlang C helper cells) equals the value
//! vitals cached; converted to PDF, the pages show the five sheets and the chart. Needs
//! `soffice` and `pdftotext` (Debian `libreoffice-calc-nogui`, `poppler-utils`; `.ci/run`
//! installs them): with `CI=true` a missing program fails the test, elsewhere it is skipped.

mod report_common;

use std::path::{Path, PathBuf};
use std::process::Command;

use calamine::{open_workbook, Data, Reader, Xlsx};
use report_common::{close, Org};

fn available(program: &str, version_flag: &str) -> bool {
    Command::new(program)
        .arg(version_flag)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether the LibreOffice checks can run; fails under CI when they cannot.
fn libreoffice() -> bool {
    let ok = available("soffice", "--version") && available("pdftotext", "-v");
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "soffice and pdftotext are required in CI (.ci/run installs libreoffice-calc-nogui and poppler-utils)"
        );
        eprintln!("skipped: soffice or pdftotext not installed (apt-get install libreoffice-calc-nogui poppler-utils)");
    }
    ok
}

/// A LibreOffice profile that recalculates every formula when it loads a file.
fn profile(dir: &Path) -> String {
    let user = dir.join("lo-profile/user");
    std::fs::create_dir_all(&user).unwrap();
    let item = |name: &str| {
        format!(
            r#"<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="{name}" oor:op="fuse"><value>0</value></prop></item>"#
        )
    };
    std::fs::write(
        user.join("registrymodifications.xcu"),
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
{}
{}
</oor:items>
"#,
            item("OOXMLRecalcMode"),
            item("ODFRecalcMode")
        ),
    )
    .unwrap();
    format!(
        "-env:UserInstallation=file://{}",
        dir.join("lo-profile").display()
    )
}

/// `soffice --convert-to FORMAT` into `out`; the converted file.
fn convert(profile: &str, input: &Path, format: &str, out: &Path) -> PathBuf {
    let status = Command::new("soffice")
        .args([
            profile,
            "--headless",
            "--norestore",
            "--convert-to",
            format,
            "--outdir",
        ])
        .arg(out)
        .arg(input)
        .output()
        .expect("run soffice");
    assert!(
        status.status.success(),
        "soffice: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let ext = format.split(':').next().unwrap();
    let path = out.join(input.file_stem().unwrap()).with_extension(ext);
    assert!(path.exists(), "{} not written", path.display());
    path
}

fn number(d: Option<&Data>) -> Option<f64> {
    match d {
        Some(Data::Float(f)) => Some(*f),
        Some(Data::Int(i)) => Some(*i as f64),
        Some(Data::DateTime(d)) => Some(d.as_f64()),
        Some(Data::Bool(b)) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
}

#[test]
fn libreoffice_recalculates_the_cached_values_and_prints_every_sheet() {
    if !libreoffice() {
        return;
    }
    let org = Org::new("600");
    let (xlsx, _) = org.report("2026-05", &["--format", "xlsx"]);
    let work = org.dir.path().join("lo");
    std::fs::create_dir_all(&work).unwrap();
    let profile = profile(&work);

    // The profile does recalculate: a formula cached with a wrong value comes back right.
    let probe = work.join("probe.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    wb.add_worksheet()
        .write_formula(0, 0, rust_xlsxwriter::Formula::new("=1+1").set_result("7"))
        .unwrap();
    wb.save(&probe).unwrap();
    let recalculated = convert(
        &profile,
        &probe,
        "xlsx:Calc MS Excel 2007 XML",
        &work.join("re"),
    );
    let mut back: Xlsx<_> = open_workbook(&recalculated).unwrap();
    let sheet = back.sheet_names()[0].clone();
    assert_eq!(
        number(back.worksheet_range(&sheet).unwrap().get_value((0, 0))),
        Some(2.0)
    );

    // Every formula cell of the report: recalculated = cached.
    let recalculated = convert(
        &profile,
        &xlsx,
        "xlsx:Calc MS Excel 2007 XML",
        &work.join("re"),
    );
    let mut original: Xlsx<_> = open_workbook(&xlsx).unwrap();
    let mut again: Xlsx<_> = open_workbook(&recalculated).unwrap();
    let mut formulas = 0;
    for sheet in original.sheet_names() {
        let f = original.worksheet_formula(&sheet).unwrap();
        let cached = original.worksheet_range(&sheet).unwrap();
        let recalc = again.worksheet_range(&sheet).unwrap();
        for (r, c, formula) in f.used_cells() {
            if formula.is_empty() {
                continue;
            }
            let (r, c) = (
                r as u32 + f.start().unwrap().0,
                c as u32 + f.start().unwrap().1,
            );
            let want = number(cached.get_value((r, c)));
            let got = number(recalc.get_value((r, c)));
            let (Some(want), Some(got)) = (want, got) else {
                panic!("{sheet}!({r},{c}) {formula}: cached {want:?}, recalculated {got:?}");
            };
            assert!(
                close(want, got) || (want - got).abs() < 1e-9,
                "{sheet}!({r},{c}) {formula}: cached {want}, recalculated {got}"
            );
            formulas += 1;
        }
    }
    assert!(formulas > 200, "{formulas} formula cells");

    // The PDF shows the five sheets and the charts.
    let pdf = convert(&profile, &xlsx, "pdf", &work.join("pdf"));
    let text = Command::new("pdftotext")
        .arg(&pdf)
        .arg("-")
        .output()
        .expect("pdftotext");
    let text = String::from_utf8_lossy(&text.stdout);
    for needle in [
        "Metrics — May 2026",
        "What moved — May 2026",
        "Ticket volume — May 2026",
        "Formulas — May 2026",
        "Staffing — May 2026",
        "Customer satisfaction",
        "Calculator",
        "Tickets per category per",
        "Tickets per channel per",
    ] {
        assert!(text.contains(needle), "the PDF lacks {needle:?}");
    }
}

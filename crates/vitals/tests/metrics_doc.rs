//! `docs/metrics.md` is generated from the catalogue (`vitals catalogue --markdown`): this test
//! fails when the file in the repository differs from what the binary prints, so the document
//! can never drift from the definitions. `UPDATE_DOCS=1` rewrites the file instead.

use std::path::Path;

mod common;

#[test]
fn docs_metrics_md_is_the_catalogue() {
    let generated = common::ok(&["catalogue", "--markdown"]);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/metrics.md");
    if std::env::var("UPDATE_DOCS").as_deref() == Ok("1") {
        std::fs::write(&path, &generated).expect("write docs/metrics.md");
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "docs/metrics.md is out of date with the catalogue: run \
         `UPDATE_DOCS=1 cargo test -p vitals --test metrics_doc` and commit the result"
    );
}

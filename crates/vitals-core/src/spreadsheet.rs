//! Text cells that a spreadsheet will not run: a CSV cell beginning with `=`, `+`, `-`, `@`, a
//! tab or a carriage return is read by Excel, LibreOffice and Google Sheets as a formula, so a
//! category such as `=HYPERLINK(…)` ingested by anyone with an ingest token would become a
//! live formula in an analyst's sheet (OWASP's "CSV injection"). Every CSV vitals writes
//! passes its text cells through [`safe_cell`], which prefixes such a cell with `'` — the
//! spreadsheet shows the text as written. Numbers are written as numbers and never changed.

use std::borrow::Cow;

/// The characters that make a spreadsheet read a cell as a formula.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// `text` as a spreadsheet shows it verbatim: prefixed with `'` when it would be a formula.
pub fn safe_cell(text: &str) -> Cow<'_, str> {
    if text.starts_with(FORMULA_STARTS) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_starts_are_neutralised_and_plain_text_is_kept() {
        for hostile in [
            "=HYPERLINK(\"http://x\",\"y\")",
            "+1+1",
            "-2+3",
            "@SUM(A1)",
            "\t=1",
            "\r=1",
        ] {
            assert_eq!(safe_cell(hostile), format!("'{hostile}"));
        }
        for plain in ["billing", "", "a=b", "1-2", "'quoted"] {
            assert_eq!(safe_cell(plain), plain);
        }
    }
}

//! Text cells that always fit: Excel refuses a cell longer than 32 767 characters, and one
//! long category, annotation or team name must not make the whole workbook fail. Every
//! string the workbook writes goes through [`Cells`], which cuts an over-long text and says
//! so in the cell itself.

use rust_xlsxwriter::{ColNum, Format, RowNum, Worksheet, XlsxError};

/// The most characters an Excel cell holds.
pub const EXCEL_MAX_CHARS: usize = 32_767;

/// `text`, cut visibly when it is longer than a cell holds.
pub fn fit(text: impl Into<String>) -> String {
    let text = text.into();
    if text.len() <= EXCEL_MAX_CHARS {
        return text;
    }
    let chars = text.chars().count();
    if chars <= EXCEL_MAX_CHARS {
        return text;
    }
    let marker = format!(" … [cut: {chars} characters in all]");
    let keep = EXCEL_MAX_CHARS - marker.chars().count();
    text.chars().take(keep).collect::<String>() + &marker
}

/// Writing text cells through [`fit`].
pub trait Cells {
    /// A text cell.
    fn text(
        &mut self,
        row: RowNum,
        col: ColNum,
        text: impl Into<String>,
    ) -> Result<&mut Worksheet, XlsxError>;

    /// A text cell with a format.
    fn text_with_format(
        &mut self,
        row: RowNum,
        col: ColNum,
        text: impl Into<String>,
        format: &Format,
    ) -> Result<&mut Worksheet, XlsxError>;
}

impl Cells for Worksheet {
    fn text(
        &mut self,
        row: RowNum,
        col: ColNum,
        text: impl Into<String>,
    ) -> Result<&mut Worksheet, XlsxError> {
        self.write_string(row, col, fit(text))
    }

    fn text_with_format(
        &mut self,
        row: RowNum,
        col: ColNum,
        text: impl Into<String>,
        format: &Format,
    ) -> Result<&mut Worksheet, XlsxError> {
        self.write_string_with_format(row, col, fit(text), format)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_over_long_text_is_cut_to_a_cell_and_says_so() {
        let long = "x".repeat(40_000);
        let cut = fit(long.as_str());
        assert_eq!(cut.chars().count(), EXCEL_MAX_CHARS);
        assert!(
            cut.ends_with("[cut: 40000 characters in all]"),
            "{}",
            &cut[32_700..]
        );
        assert_eq!(fit("short"), "short");
        let wide = "ä".repeat(EXCEL_MAX_CHARS);
        assert_eq!(fit(wide.as_str()), wide, "characters, not bytes");
    }

    #[test]
    fn a_workbook_with_an_over_long_text_is_written() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.text(0, 0, "=".repeat(40_000)).unwrap();
        assert!(book.save_to_buffer().is_ok());
    }
}

package safecsv

import (
	"encoding/csv"
	"io"
)

// Quote is what Neutralise puts before a cell that a spreadsheet would read
// as a formula.
const Quote = '\''

// Dangerous reports whether a spreadsheet may take a cell that begins with c
// for a formula (or, for tab and carriage return, hide the formula behind
// them).
func Dangerous(c byte) bool {
	switch c {
	case '=', '+', '-', '@', '\t', '\r':
		return true
	}
	return false
}

// Neutralise returns cell as a spreadsheet should show it: unchanged, or with
// Quote before it when it begins with a dangerous character.
func Neutralise(cell string) string {
	if cell != "" && Dangerous(cell[0]) {
		return string(Quote) + cell
	}
	return cell
}

// Writer is a csv.Writer that neutralises every cell it writes.
type Writer struct {
	w   *csv.Writer
	row []string
}

// NewWriter returns a Writer writing to w, with encoding/csv's defaults
// (comma, "\n" line ends, fields quoted only when needed).
func NewWriter(w io.Writer) *Writer { return &Writer{w: csv.NewWriter(w)} }

// Write writes one row, each cell through Neutralise. It does not change
// row.
func (w *Writer) Write(row []string) error {
	w.row = w.row[:0]
	for _, cell := range row {
		w.row = append(w.row, Neutralise(cell))
	}
	return w.w.Write(w.row)
}

// Flush writes any buffered data to the underlying writer; Error says
// whether it or an earlier Write failed.
func (w *Writer) Flush() { w.w.Flush() }

// Error reports any error of an earlier Write or Flush.
func (w *Writer) Error() error { return w.w.Error() }

package safecsv_test

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/connhub/connhub/internal/safecsv"
)

func TestNeutralise(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{`=HYPERLINK("http://x","y")`, `'=HYPERLINK("http://x","y")`},
		{"+1", "'+1"},
		{"-5", "'-5"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
		{"", ""},
		{"Ada Lovelace", "Ada Lovelace"},
		{" =1", " =1"},
		{"a=b", "a=b"},
		{"'=1", "'=1"},
	} {
		if got := safecsv.Neutralise(tc.in); got != tc.want {
			t.Errorf("Neutralise(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzWriter checks that whatever the cells hold, no cell a CSV reader (a
// spreadsheet's, or encoding/csv) gets from the Writer begins with a
// dangerous character, and each reads back as the original with the quote
// before it where it needed one.
func FuzzWriter(f *testing.F) {
	for _, seed := range [][2]string{
		{`=HYPERLINK("http://x","y")`, "Ada"},
		{"+1", "-1"},
		{"@a", "\t=1"},
		{"\r=1", "\r\n=2"},
		{"", ""},
		{`"=1"`, "a,b"},
		{"\n=1", " @x"},
		{"\xff=", "=\xff"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		var buf bytes.Buffer
		w := safecsv.NewWriter(&buf)
		row := []string{a, b} // two cells: a lone empty cell is a blank line, which readers skip
		if err := w.Write(row); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		if err := w.Error(); err != nil {
			t.Fatal(err)
		}
		if row[0] != a || row[1] != b {
			t.Fatal("Write changed its row")
		}
		got, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatalf("reading back %q: %v", buf.String(), err)
		}
		if len(got) != 1 || len(got[0]) != 2 {
			t.Fatalf("read back %q as %q, want one row of two cells", buf.String(), got)
		}
		for i, cell := range got[0] {
			if cell != "" && safecsv.Dangerous(cell[0]) {
				t.Errorf("cell %d reads back as %q: it begins with a dangerous character", i, cell)
			}
			// encoding/csv drops the \r of a \r\n inside a quoted cell.
			want := strings.ReplaceAll(safecsv.Neutralise(row[i]), "\r\n", "\n")
			if cell != want {
				t.Errorf("cell %d: %q reads back as %q, want %q", i, row[i], cell, want)
			}
			if orig := row[i]; orig != "" && safecsv.Dangerous(orig[0]) && cell[0] != safecsv.Quote {
				t.Errorf("cell %d: %q reads back as %q, without the quote", i, orig, cell)
			}
		}
	})
}

// Package safecsv writes CSV that a spreadsheet opens as data, never as
// formulas: every cell that begins with '=', '+', '-', '@', a tab (0x09) or a
// carriage return (0x0D) is written with a single quote (') before it, as
// OWASP advises against CSV (formula) injection. A record synced from Slack
// whose name is =HYPERLINK("http://evil","Click") then shows as that text in
// Excel, LibreOffice or Google Sheets instead of a live link.
//
// The quote is part of the value: a program that reads the CSV back gets
// '=HYPERLINK(…) and '-5, and must strip one leading quote from a cell whose
// second character is one of those six to have the original. Every CSV
// connhub writes (the API's export, and so the CLI's, which saves what the
// API sends) goes through this package's Writer.
package safecsv

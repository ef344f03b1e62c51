package httpapi

// Exports read small pages in tests, so that every export crosses pages.
func init() { exportPage = 7 }

package slackspec

import "testing"

func TestEveryPagedMethodIsAMethod(t *testing.T) {
	for name, n := range maxPage {
		m, ok := Lookup(name)
		if !ok || m.MaxPage != n || n <= 0 {
			t.Errorf("maxPage names %s (%d): known %v, MaxPage %d", name, n, ok, m.MaxPage)
		}
	}
}

package secrets_test

import (
	"strings"
	"testing"

	"github.com/connhub/connhub/internal/secrets"
)

func TestCheckChosenToken(t *testing.T) {
	t.Parallel()
	for range 20 {
		tok, err := secrets.NewToken("chub")
		if err != nil {
			t.Fatal(err)
		}
		if err := secrets.CheckChosenToken("chub", tok); err != nil {
			t.Fatalf("a token NewToken made: %v", err)
		}
	}
	for _, tc := range []struct{ token, problem string }{
		{"chub_q2kX9vB7mZ1yL4nR8tW3pF", ""},           // 22 base64url characters
		{"chub_q2kX-vB7mZ1y_4nR8tW3pF6h", ""},         // - and _ are base64url's
		{"chub_0123456789abcdef0123456789abcdef", ""}, // 32 hex digits
		{"chub_a", "has 1 characters after chub_, want at least 22"},
		{"chub_q2kX9vB7mZ1yL4nR8tW3p", "has 21 characters after chub_, want at least 22"},
		{"q2kX9vB7mZ1yL4nR8tW3pF6hJ0cD5gS", "does not start with chub_"},
		{"CHUB_q2kX9vB7mZ1yL4nR8tW3pF6hJ0cD5gS", "does not start with chub_"},
		{"chub_q2kX9vB7mZ1yL4nR8tW3pF6hJ0cD5g+", "not A-Z, a-z, 0-9, - or _"},
		{"chub_q2kX9vB7mZ1yL4nR8 tW3pF6hJ0cD5g", "not A-Z, a-z, 0-9, - or _"},
		{"chub_0123456789abcdef012345", "has only 22 hex digits after chub_, want at least 32"},
		{"chub_" + strings.Repeat("x", 40), "repeats one character"},
	} {
		err := secrets.CheckChosenToken("chub", tc.token)
		switch {
		case tc.problem == "" && err != nil:
			t.Errorf("%s: got %v, want it accepted", tc.token, err)
		case tc.problem != "" && (err == nil || !strings.Contains(err.Error(), tc.problem)):
			t.Errorf("%s: got %v, want %q", tc.token, err, tc.problem)
		case err != nil && len(tc.token) > 6 && strings.Contains(err.Error(), tc.token[5:]):
			t.Errorf("%s: the error shows the token: %v", tc.token, err)
		}
	}
}

package tenant

import (
	"fmt"

	"github.com/connhub/connhub/internal/secrets"
)

// APITokenShape says, for an error message, what a chosen API token must look
// like and how to make one.
const APITokenShape = "an API token is " + APITokenPrefix + "_ followed by at least 22 random characters of A-Z a-z 0-9 - _ " +
	"(make one with `connhub token new`, or: echo " + APITokenPrefix + "_$(openssl rand -base64 32 | tr -d '=+/'))"

// CheckAPIToken reports whether token, chosen by a person (CONNHUB_ADMIN_TOKEN's
// value), may be an API token: APITokenPrefix, "_", and a body that
// secrets.CheckChosenToken accepts, so at least 128 bits if drawn at random.
// Without the prefix a token could never authenticate (Bearer tokens are told
// apart by it); with a short body it could be guessed. The error is one line
// that says what is wrong and what a valid value looks like, never the
// token.
func CheckAPIToken(token string) error {
	if err := secrets.CheckChosenToken(APITokenPrefix, token); err != nil {
		return fmt.Errorf("%w: %s", err, APITokenShape)
	}
	return nil
}

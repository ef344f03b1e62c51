package storetest

import (
	"testing"
	"time"

	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/store"
)

// PlantSecrets stores one secret of every kind the store keeps, sealed or
// hashed, and returns the plain values, for a backend's test to search its
// database files or dump for: none of them may be found.
func PlantSecrets(t *testing.T, s store.Store) []string {
	t.Helper()
	mark := func(kind string) string { return "PLAINTEXT-" + kind + "-" + store.NewID("x") }
	orgSecret, userSecret, apiToken, instanceToken := mark("org-secret"), mark("user-secret"), mark("api-token"), mark("instance-token")
	clientSecret, signingSecret := mark("client-secret"), mark("signing-secret")
	bot, botRefresh, usr, usrRefresh := mark("xoxb"), mark("xoxe-bot"), mark("xoxp"), mark("xoxe-user")
	verifier, credential, installation := mark("pkce"), mark("credential"), mark("installation")
	session := mark("console-session")

	o, err := s.CreateOrganization(ctx, store.Organization{Name: "plant", SecretHash: secrets.HashToken(orgSecret), Secret: secrets.Secret(orgSecret)})
	must(t, err)
	u, err := s.CreateUser(ctx, store.User{OrgID: o.ID, Email: "p@example.com", SecretHash: secrets.HashToken(userSecret), Secret: secrets.Secret(userSecret)})
	must(t, err)
	key, err := s.CreateAPICredential(ctx, store.APICredential{OrgID: o.ID, UserID: u.ID, Name: "k", TokenHash: secrets.HashToken(apiToken), Hint: "chub_"})
	must(t, err)
	_, err = s.CreateConsoleSession(ctx, store.ConsoleSession{IDHash: secrets.HashToken(session), OrgID: o.ID, UserID: u.ID, CredentialID: key.ID,
		ExpiresAt: time.Now().Add(time.Hour)})
	must(t, err)
	must(t, s.SetConsoleFlash(ctx, secrets.HashToken(session), store.ConsoleFlash{OK: true, Message: "flash"}))
	a, err := s.CreateApp(ctx, store.App{OrgID: o.ID, Name: "a", ClientID: "1.2", ClientSecret: secrets.Secret(clientSecret), SigningSecret: secrets.Secret(signingSecret)})
	must(t, err)
	in, err := s.CreateInstance(ctx, store.Instance{OrgID: o.ID, Connector: "slack", AppID: a.ID, Name: "i",
		BotToken: secrets.Secret(bot), BotRefreshToken: secrets.Secret(botRefresh), UserToken: secrets.Secret(usr), UserRefreshToken: secrets.Secret(usrRefresh),
		InstanceTokenHash: secrets.HashToken(instanceToken), InstanceToken: secrets.Secret(instanceToken), InstanceTokenHint: "chi_"})
	must(t, err)
	_, err = s.CreateOAuthState(ctx, store.OAuthState{OrgID: o.ID, InstanceID: in.ID, CodeVerifier: secrets.Secret(verifier), ExpiresAt: time.Now().Add(time.Hour)})
	must(t, err)
	_, err = s.CreateCredential(ctx, store.Credential{OrgID: o.ID, Name: "c", Kind: "open_connectors", InstanceID: in.ID, Value: secrets.Secret(credential)})
	must(t, err)
	_, err = s.InstallationSecret(ctx, "plant", func() (secrets.Secret, error) { return secrets.Secret(installation), nil })
	must(t, err)
	// A refresh rewrites the tokens: the old values must not linger either.
	_, err = s.UpdateInstance(ctx, o.ID, in.ID, func(in *store.Instance) error {
		in.BotToken = secrets.Secret(bot + "-2")
		return nil
	})
	must(t, err)
	return []string{orgSecret, userSecret, apiToken, instanceToken, clientSecret, signingSecret, bot, botRefresh, usr, usrRefresh, verifier, credential, installation, session}
}

// Package secrets owns everything connhub keeps secret: the encryption keys and
// the key ring built from them, the envelope that seals values at rest
// (AES-256-GCM), key rotation, the Secret string type that will not print,
// connhub's own bearer tokens and their hashes, and a slog handler that redacts
// secrets as a second line of defence.
//
// The store seals every Slack app secret and OAuth token with a [Keyring] before
// writing it, so a stolen database file gives away nothing without the keys.
// connhub's own credentials (API tokens, instance tokens, user and organization
// secrets) are not encrypted but hashed ([HashToken]): connhub never needs them
// back, only to recognise them.
//
// # Sealed format
//
// A sealed value is
//
//	byte 0            format version, 1
//	byte 1            n, the length of the key ID (1 to 64)
//	bytes 2..2+n      the key ID, ASCII, matching ^[A-Za-z0-9._-]{1,64}$
//	next 12 bytes     a random nonce from crypto/rand
//	the rest          the AES-256-GCM ciphertext followed by its 16-byte tag
//
// The GCM additional data is the header (version, ID length and ID, i.e. bytes
// 0..2+n) followed by the associated data the caller passes to [Keyring.Seal]
// and [Keyring.Open]. The store passes "table/rowID/column", so a ciphertext
// copied to another row or column does not open ([ErrDecrypt]). [Keyring.Open]
// reports a value it cannot parse with [ErrFormat], a key ID the ring lacks with
// [ErrUnknownKey], and anything that fails authentication (wrong key, a flipped
// bit, wrong associated data) with [ErrDecrypt]; it never returns unauthenticated
// plaintext. Nonces are random, so one key should seal fewer than 2^32 values;
// rotation starts a new key long before that.
//
// # Keys and the key file
//
// A key is an ID and 32 random bytes, written as one line "<id>:<base64>" with
// the standard base64 alphabet and padding, for example
//
//	k20250102T030405-5f3a9c:3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
//
// [GenerateKey] names keys "k" + the UTC creation time (20060102T150405) + "-"
// + 6 random hex digits, so keys made in the same second, even by two
// processes, still differ. Keys reach connhub either in the environment
// variable CONNHUB_ENCRYPTION_KEYS (keys separated by commas or newlines,
// oldest first, the last one sealing; [ParseKeys]) or in a key file: one key
// per line, oldest first, blank lines and lines starting with '#' ignored,
// and at most one line
//
//	primary = k20250102T030405-5f3a9c
//
// naming the key that seals (without it, the last key seals, as in files
// written before the line existed). [LoadKeySet] and [ParseKeyFile] read a
// key file into a [KeySet]; [KeySet.Keyring] builds its ring. The key file
// must not be readable by group or others ([LoadKeySet] refuses it
// otherwise). [CreateKeyFile] writes the first one with mode 0600 and a header
// saying what the file is; losing it loses every secret in the database.
//
// # Rotation
//
// Every key opens; the primary seals. Rotation changes the key file in steps,
// each written atomically (a synced temporary file renamed over the old one,
// so a crash never loses a key): [AppendKey] adds a key that opens but does
// not seal, [PromoteKey] makes it the primary, the store re-seals every value
// whose [SealedKeyID] is not the primary ([Keyring.Reseal] does one value),
// and [RemoveKey] takes out a key nothing is sealed with any more. The
// functions here do not check the replicas or the database: the keys
// commands (internal/cli) do, before each step (docs/SECURITY.md, "Key
// lifecycle").
//
// A running server keeps its [Keyring] in step with the key file through a
// [Reloader]: it reloads when the file's size, modification time or content
// change (Run's ticker), on a signal (SIGHUP), and, through
// [Keyring.OnUnknownKey], when [Keyring.Open] meets a value sealed with a key
// the ring lacks (one reload at a time, at most one per MissInterval).
// [Keyring.Replace] swaps the keys for every caller at once. A reload that
// fails (unreadable or malformed file, or a dropped key that values still
// use, per ReloaderOptions.StillUsed) keeps the ring as it was and logs one
// line.
//
// # Secrets in memory and in logs
//
// A secret held in memory is a [Secret], which prints, logs and marshals as
// "[REDACTED]" and gives its value only to Reveal. [RedactingHandler] wraps the
// process's slog handler and redacts, whatever the type, attributes with
// secret-sounding keys and values that look like Slack's or connhub's tokens or
// like key material.
//
// connhub's own tokens are "<prefix>_" and 43 base62 digits of 256 random bits
// ([NewToken]); the store keeps their SHA-256 ([HashToken]) and compares in
// constant time ([TokenMatches]).
package secrets

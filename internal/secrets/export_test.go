package secrets

import (
	"errors"
	"time"
)

// ErrSimulatedCrash is what AppendKeyCrashingBeforeRename fails with.
var ErrSimulatedCrash = errors.New("simulated crash")

// AppendKeyCrashingBeforeRename is AppendKey failing after the new file is
// written and synced but before it replaces the old one.
func AppendKeyCrashingBeforeRename(path string, now time.Time) (Key, error) {
	return appendKey(path, now, func() error { return ErrSimulatedCrash })
}

// EncodeBase62 exports the token encoding for tests.
var EncodeBase62 = encodeBase62

package secrets

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// keyFileHeader opens every key file CreateKeyFile writes.
const keyFileHeader = `# connhub encryption keys. KEEP THIS FILE SECRET AND BACK IT UP.
#
# connhub encrypts the Slack app secrets and OAuth tokens in its database with
# these keys. Anyone holding this file and the database can read them; anyone
# holding the database alone cannot. If this file is lost, every secret in the
# database is lost with it and every Slack workspace must be connected again, so
# back it up, apart from the database backups.
#
# One key per line, "<id>:<base64 of 32 bytes>", oldest first. The last key
# encrypts new values; every key decrypts. Rotation appends a key at the end.
# Never remove a key while values sealed with it remain in the database.
# The file must be readable by its owner only (chmod 600).
`

// LoadKeyFile reads and parses the key file at path (see [ParseKeys] for the
// format), oldest key first.
//
// It refuses a file whose permissions give group or others any access
// (mode&0o077 != 0), naming the path and the mode and saying to run
// `chmod 600 <path>`. A missing file is an error wrapping [fs.ErrNotExist].
// (Windows has no such permission bits; there the check is skipped.)
func LoadKeyFile(path string) ([]Key, error) {
	keys, _, err := loadKeyFile(path)
	return keys, err
}

// loadKeyFile is LoadKeyFile that also returns the file's bytes, so that
// AppendKey rewrites exactly what it parsed.
func loadKeyFile(path string) ([]Key, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("secrets: key file: %w", err)
	}
	defer f.Close()
	// Check the mode of the file we opened, not of whatever the path names by
	// the time we read it.
	info, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("secrets: key file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("secrets: key file %s is not a regular file (mode %s)", path, info.Mode())
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, nil, fmt.Errorf("secrets: key file %s has mode %04o, which gives group or others access to it; run `chmod 600 %s`", path, perm, path)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, nil, fmt.Errorf("secrets: read key file %s: %w", path, err)
	}
	keys, err := parseKeys(string(data))
	if err != nil {
		return nil, nil, fmt.Errorf("secrets: key file %s: %w", path, err)
	}
	return keys, data, nil
}

// CreateKeyFile writes a new key file at path holding one fresh key, for
// connhub's first start, and returns that key. The file gets mode 0600 and a
// comment header saying what it is and that losing it loses every secret; a
// missing parent directory is created with mode 0700.
//
// It fails with an error wrapping [fs.ErrExist] if the file exists: a key file
// is never overwritten. If writing fails, the new file is removed; a crash
// half-way leaves a file that LoadKeyFile rejects, which is safe because nothing
// was sealed with its key yet.
func CreateKeyFile(path string, now time.Time) ([]Key, error) {
	key, err := GenerateKey(now)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("secrets: create key file directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("secrets: create key file: %w", err)
	}
	content := keyFileHeader + "\n" + keyLine(key, now)
	err = f.Chmod(0o600) // exactly 0600, whatever the umask
	if runtime.GOOS == "windows" {
		err = nil
	}
	if err != nil {
		f.Close()
	} else {
		err = writeAndSync(f, []byte(content))
	}
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("secrets: create key file %s: %w", path, err)
	}
	syncDir(dir)
	return []Key{key}, nil
}

// AppendKey generates a key and appends it to the key file at path as the
// newest, the one that seals from the next start on. The existing file is
// loaded first (with LoadKeyFile's checks) and kept byte for byte, comments
// included.
//
// The new file is written atomically: a temporary file in the same directory
// with mode 0600, synced, then renamed over the old one, and the directory
// synced. A crash at any point leaves either the old file or the new one,
// never a file missing keys. Two AppendKey calls racing on one file may lose one
// of the two new keys (never an old key); rotation is an operator's action, run
// once.
func AppendKey(path string, now time.Time) (Key, error) {
	return appendKey(path, now, nil)
}

// appendKey is AppendKey with a hook that runs between writing the temporary
// file and renaming it, so tests can simulate a crash there.
func appendKey(path string, now time.Time, beforeRename func() error) (Key, error) {
	keys, data, err := loadKeyFile(path)
	if err != nil {
		return Key{}, err
	}
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.ID
	}
	var key Key
	for {
		if key, err = GenerateKey(now); err != nil {
			return Key{}, err
		}
		if !slices.Contains(ids, key.ID) { // 1 in 16 million per existing key of this second
			break
		}
	}
	content := slices.Clip(data)
	if len(content) > 0 && !strings.HasSuffix(string(content), "\n") {
		content = append(content, '\n')
	}
	content = append(content, keyLine(key, now)...)
	if err := writeFileAtomic(path, content, beforeRename); err != nil {
		return Key{}, fmt.Errorf("secrets: append key to %s: %w", path, err)
	}
	return key, nil
}

// keyLine is one key as written to the key file, with a comment above it.
func keyLine(k Key, now time.Time) string {
	return "# added " + now.UTC().Format(time.RFC3339) + "\n" + k.String() + "\n"
}

// writeFileAtomic replaces path with data: a temporary file with mode 0600 in
// the same directory, synced, renamed over path, and the directory synced.
// On error the temporary file is removed and path is untouched.
func writeFileAtomic(path string, data []byte, beforeRename func() error) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmpName := tmp.Name()
	defer func() {
		if err != nil {
			os.Remove(tmpName)
		}
	}()
	if err := tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		tmp.Close()
		return err
	}
	if err := writeAndSync(tmp, data); err != nil {
		return err
	}
	if beforeRename != nil {
		if err := beforeRename(); err != nil {
			return err
		}
	}
	if err := os.Rename(tmpName, path); err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

// writeAndSync writes data to f, syncs it to disk and closes it.
func writeAndSync(f *os.File, data []byte) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir makes a file created or renamed in dir durable, as far as the system
// allows: some systems and file systems cannot sync a directory, and by then
// the file is in place, so a failure here is not reported.
func syncDir(dir string) {
	if runtime.GOOS == "windows" {
		return
	}
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	d.Sync()
	d.Close()
}

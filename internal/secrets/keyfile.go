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
# One key per line, "<id>:<base64 of 32 bytes>", oldest first. Every key
# decrypts; the key the "primary = <id>" line names encrypts new values (the
# last key, when there is no such line). Change keys with the connhub keys
# commands (add, promote, reseal, retire), not by hand: they refuse what would
# leave a running replica or a value in the database without its key.
# The file must be readable by its owner only (chmod 600).
`

// LoadKeyFile reads the key file at path and returns its keys in file order,
// oldest first. Which key seals is in [LoadKeySet]: a ring made from these keys
// with NewKeyring seals with the last, which is not the file's primary when a
// "primary = ID" line names another.
func LoadKeyFile(path string) ([]Key, error) {
	set, _, err := loadKeyFile(path)
	return set.Keys, err
}

// LoadKeySet reads and parses the key file at path (see [ParseKeyFile] for
// the format): its keys, oldest first, and its primary.
//
// It refuses a file whose permissions give group or others any access
// (mode&0o077 != 0), naming the path and the mode and saying to run
// `chmod 600 <path>`. A missing file is an error wrapping [fs.ErrNotExist].
// (Windows has no such permission bits; there the check is skipped.)
func LoadKeySet(path string) (KeySet, error) {
	set, _, err := loadKeyFile(path)
	return set, err
}

// loadKeyFile is LoadKeySet that also returns the file's bytes, so that the
// functions that change the file rewrite exactly what they parsed.
func loadKeyFile(path string) (KeySet, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return KeySet{}, nil, fmt.Errorf("secrets: key file: %w", err)
	}
	defer f.Close()
	// Check the mode of the file we opened, not of whatever the path names by
	// the time we read it.
	info, err := f.Stat()
	if err != nil {
		return KeySet{}, nil, fmt.Errorf("secrets: key file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return KeySet{}, nil, fmt.Errorf("secrets: key file %s is not a regular file (mode %s)", path, info.Mode())
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return KeySet{}, nil, fmt.Errorf("secrets: key file %s has mode %04o, which gives group or others access to it; run `chmod 600 %s`", path, perm, path)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return KeySet{}, nil, fmt.Errorf("secrets: read key file %s: %w", path, err)
	}
	set, err := parseKeySet(string(data))
	if err != nil {
		return KeySet{}, nil, fmt.Errorf("secrets: key file %s: %w", path, err)
	}
	return set, data, nil
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

// AppendKey generates a key and appends it to the key file at path. The new
// key opens values at once but does not seal: the primary stays the key that
// sealed before (a file without a "primary = ID" line gets one naming its
// last key, so that the new last key does not take over). [PromoteKey] makes
// it seal, once every replica holds it. The existing file is loaded first
// (with LoadKeySet's checks) and kept byte for byte, comments included.
//
// The new file is written atomically: a temporary file in the same directory
// with mode 0600, synced, then renamed over the old one, and the directory
// synced. A crash at any point leaves either the old file or the new one,
// never a file missing keys. Two changes racing on one file may lose one of
// them (never an old key); the keys commands are an operator's, run one at a
// time.
func AppendKey(path string, now time.Time) (Key, error) {
	return appendKey(path, now, nil)
}

// appendKey is AppendKey with a hook that runs between writing the temporary
// file and renaming it, so tests can simulate a crash there.
func appendKey(path string, now time.Time, beforeRename func() error) (Key, error) {
	set, data, err := loadKeyFile(path)
	if err != nil {
		return Key{}, err
	}
	ids := set.IDs()
	var key Key
	for {
		if key, err = GenerateKey(now); err != nil {
			return Key{}, err
		}
		if !slices.Contains(ids, key.ID) { // 1 in 16 million per existing key of this second
			break
		}
	}
	content := withFinalNewline(data)
	content = append(content, keyLine(key, now)...)
	if set.Primary == "" {
		content = append(content, primaryText(set.PrimaryID(), time.Time{})...)
	}
	if err := writeFileAtomic(path, content, beforeRename); err != nil {
		return Key{}, fmt.Errorf("secrets: append key to %s: %w", path, err)
	}
	return key, nil
}

// PromoteKey makes the key id the one that seals, by writing the key file's
// "primary = ID" line (in place of the old one, or at the end), atomically as
// AppendKey does. The key must be in the file. Whether every replica holds it
// is the caller's to check first: a replica that seals with a key another
// lacks makes that value unreadable there.
func PromoteKey(path, id string, now time.Time) error {
	set, data, err := loadKeyFile(path)
	if err != nil {
		return err
	}
	if !slices.Contains(set.IDs(), id) {
		return fmt.Errorf("secrets: promote: the key file %s holds no key %q (it holds %s)", path, safeID(id), strings.Join(set.IDs(), ", "))
	}
	lines := dropLines(data, func(trimmed string) bool {
		return primaryLine.MatchString(trimmed) || strings.HasPrefix(trimmed, primaryComment)
	})
	content := append(withFinalNewline(lines), primaryText(id, now)...)
	if err := writeFileAtomic(path, content, nil); err != nil {
		return fmt.Errorf("secrets: promote %s in %s: %w", id, path, err)
	}
	return nil
}

// RemoveKey takes the key id out of the key file, with the "# added" comment
// line right above it, atomically as AppendKey does. It refuses the primary
// and the file's last key. Whether values sealed with the key remain is the
// caller's to check first: once the key is gone they cannot be opened.
func RemoveKey(path, id string) error {
	set, data, err := loadKeyFile(path)
	if err != nil {
		return err
	}
	switch {
	case !slices.Contains(set.IDs(), id):
		return fmt.Errorf("secrets: remove key: the key file %s holds no key %q", path, safeID(id))
	case set.PrimaryID() == id:
		return fmt.Errorf("secrets: remove key: %s is the primary key, which seals; promote another first", id)
	}
	var out []string
	for _, line := range strings.SplitAfter(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") || primaryLine.MatchString(trimmed) {
			out = append(out, line)
			continue
		}
		var kept []string
		for _, item := range strings.Split(trimmed, ",") {
			if itemID, _, _ := strings.Cut(strings.TrimSpace(item), ":"); strings.TrimSpace(itemID) != id && strings.TrimSpace(item) != "" {
				kept = append(kept, strings.TrimSpace(item))
			}
		}
		switch {
		case len(kept) == len(strings.Split(trimmed, ",")):
			out = append(out, line)
		case len(kept) > 0:
			out = append(out, strings.Join(kept, ",")+"\n")
		default: // the key's own line: drop it, and its "# added" comment
			if n := len(out); n > 0 && strings.HasPrefix(strings.TrimSpace(out[n-1]), "# added ") {
				out = out[:n-1]
			}
		}
	}
	if err := writeFileAtomic(path, []byte(strings.Join(out, "")), nil); err != nil {
		return fmt.Errorf("secrets: remove key %s from %s: %w", id, path, err)
	}
	return nil
}

// primaryComment starts the comment above the primary line.
const primaryComment = "# the key that seals new values"

// primaryText is the primary line as written to the key file, with a comment
// above it saying since when, unless since is zero.
func primaryText(id string, since time.Time) string {
	comment := primaryComment + ":\n"
	if !since.IsZero() {
		comment = primaryComment + ", since " + since.UTC().Format(time.RFC3339) + ":\n"
	}
	return comment + "primary = " + id + "\n"
}

// dropLines returns data without the lines that drop matches (trimmed).
func dropLines(data []byte, drop func(trimmed string) bool) []byte {
	var out []byte
	for _, line := range strings.SplitAfter(string(data), "\n") {
		if !drop(strings.TrimSpace(line)) {
			out = append(out, line...)
		}
	}
	return out
}

// withFinalNewline is data, ending with a newline unless it is empty.
func withFinalNewline(data []byte) []byte {
	content := slices.Clip(data)
	if len(content) > 0 && !strings.HasSuffix(string(content), "\n") {
		content = append(content, '\n')
	}
	return content
}

// safeID is id if it is a valid key ID, else a placeholder: errors never echo
// what could be key material pasted in the wrong place.
func safeID(id string) string {
	if keyIDPattern.MatchString(id) {
		return id
	}
	return "(not a valid key ID)"
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

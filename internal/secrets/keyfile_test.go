package secrets_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/secrets"
)

var testNow = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

// b64 is the key-file form of material.
func b64(m []byte) string { return base64.StdEncoding.EncodeToString(m) }

func TestKeyStringRoundTrip(t *testing.T) {
	t.Parallel()
	k := newKey(t, "k1", 9)
	if got, want := k.String(), "k1:"+b64(k.Material); got != want {
		t.Errorf("String: got %q, want %q", got, want)
	}
	keys, err := secrets.ParseKeys(k.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0].ID != k.ID || !bytes.Equal(keys[0].Material, k.Material) {
		t.Errorf("ParseKeys(String()): got %#v, want %#v", keys, k)
	}
}

func TestKeyHidesMaterialOutsideString(t *testing.T) {
	t.Parallel()
	k := newKey(t, "k1", 9)
	material := b64(k.Material)
	var text, js bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("m", "key", k)
	slog.New(slog.NewJSONHandler(&js, nil)).Info("m", "key", k)
	j, err := json.Marshal(struct{ Key secrets.Key }{k})
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]string{
		"%#v":       fmt.Sprintf("%#v", k),
		"slog text": text.String(),
		"slog json": js.String(),
		"json":      string(j),
	} {
		if strings.Contains(got, material) || !strings.Contains(got, "k1") {
			t.Errorf("%s: got %q, want the ID without the material", name, got)
		}
	}
}

func TestParseKeys(t *testing.T) {
	t.Parallel()
	k1, k2, k3 := newKey(t, "k1", 1), newKey(t, "k.2_x-y", 2), newKey(t, "K3", 3)
	tests := []struct {
		name  string
		input string
		want  []secrets.Key
	}{
		{"one", k1.String(), []secrets.Key{k1}},
		{"commas", k1.String() + "," + k2.String() + "," + k3.String(), []secrets.Key{k1, k2, k3}},
		{"commas and spaces", " " + k1.String() + " , " + k2.String() + " ,", []secrets.Key{k1, k2}},
		{"newlines", k1.String() + "\n" + k2.String() + "\n", []secrets.Key{k1, k2}},
		{"CRLF", k1.String() + "\r\n" + k2.String() + "\r\n", []secrets.Key{k1, k2}},
		{"comments and blanks", "# header, with a comma\n\n  # indented comment\n" + k1.String() + "\n\n# added later\n" + k2.String() + "\n", []secrets.Key{k1, k2}},
		{"mixed", k1.String() + "," + k2.String() + "\n" + k3.String(), []secrets.Key{k1, k2, k3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := secrets.ParseKeys(tt.input)
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if !slices.EqualFunc(got, tt.want, func(a, b secrets.Key) bool {
				return a.ID == b.ID && bytes.Equal(a.Material, b.Material)
			}) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestParseKeysErrors(t *testing.T) {
	t.Parallel()
	good := newKey(t, "k1", 1)
	material := b64(good.Material)
	short := b64(good.Material[:31])
	long := b64(append(bytes.Clone(good.Material), 0))
	tests := []struct {
		name  string
		input string
		want  []string // each must appear in the error
		// secret is text of the input that must not appear in the error.
		secret string
	}{
		{"empty", "", []string{"no keys"}, ""},
		{"only comments", "# nothing\n\n", []string{"no keys"}, ""},
		{"bad base64", "k1:" + material[:20] + "!!" + material[22:], []string{"line 1", "not valid standard base64"}, material[:20]},
		{"unpadded base64", "k1:" + strings.TrimRight(material, "="), []string{"line 1", "base64"}, material[:40]},
		{"too short", "k1:" + short, []string{"line 1", "31 bytes, want 32"}, short},
		{"too long", "k1:" + long, []string{"line 1", "33 bytes, want 32"}, long},
		{"empty material", "k1:", []string{"line 1", "empty key material"}, ""},
		{"no colon", material, []string{"line 1", "no ':'"}, material},
		{"empty ID", ":" + material, []string{"line 1", "empty key ID"}, material},
		{"bad ID", "k 1:" + material, []string{"line 1", "key ID is not valid", "^[A-Za-z0-9._-]{1,64}$"}, material},
		{"ID too long", strings.Repeat("k", 65) + ":" + material, []string{"line 1", "key ID is not valid"}, material},
		{"duplicate ID", "k1:" + material + "\n# c\nk1:" + b64(newKey(t, "k1", 2).Material), []string{"line 3", `duplicate key ID "k1"`, "first at line 1"}, material},
		{"item number", "k1:" + material + ",k2:" + short, []string{"line 1, item 2", "31 bytes"}, short},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			keys, err := secrets.ParseKeys(tt.input)
			if err == nil {
				t.Fatalf("got %d keys, want an error", len(keys))
			}
			if keys != nil {
				t.Errorf("got %d keys with the error, want none", len(keys))
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q: got no %q, want it", err, w)
				}
			}
			if tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
				t.Errorf("error %q contains key material", err)
			}
		})
	}
}

func TestParseKeysReportsEveryProblem(t *testing.T) {
	t.Parallel()
	m := newKey(t, "k", 1).Material
	input := strings.Join([]string{
		"# keys",
		"bad id:" + b64(m),          // line 2: bad ID
		"k1:" + b64(m[:10]),         // line 3: short
		"k2:" + b64(m),              // line 4: fine
		"k2:" + b64(m),              // line 5: duplicate
		"k3:***",                    // line 6: bad base64
		":" + b64(m[:5]) + "",       // line 7: empty ID and short
		"k4:" + b64(m) + ",nocolon", // line 8 item 2: no colon
	}, "\n")
	_, err := secrets.ParseKeys(input)
	if err == nil {
		t.Fatal("got nil error, want one per problem")
	}
	for _, w := range []string{"line 2:", "line 3:", "line 5:", "line 6:", "line 7: empty key ID", "line 7: key material decodes to 5 bytes", "line 8, item 2:"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q: got no %q, want it", err, w)
		}
	}
	if strings.Contains(err.Error(), "line 4:") {
		t.Errorf("error %q: got line 4, want it clean", err)
	}
	if strings.Contains(err.Error(), b64(m)) || strings.Contains(err.Error(), b64(m[:10])) {
		t.Errorf("error %q contains key material", err)
	}
}

// writeFile writes content at a new path in a temporary directory with perm.
func writeFile(t *testing.T, content string, perm os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(path, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil { // whatever the umask
		t.Fatal(err)
	}
	return path
}

func TestLoadKeyFile(t *testing.T) {
	t.Parallel()
	k := newKey(t, "k1", 1)
	tests := []struct {
		perm    os.FileMode
		wantErr bool
	}{
		{0o600, false},
		{0o400, false},
		{0o700, false},
		{0o644, true},
		{0o640, true},
		{0o604, true},
		{0o601, true},
		{0o610, true},
		{0o666, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%04o", tt.perm), func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, "# keys\n"+k.String()+"\n", tt.perm)
			keys, err := secrets.LoadKeyFile(path)
			if !tt.wantErr {
				if err != nil || len(keys) != 1 || keys[0].ID != "k1" {
					t.Fatalf("got %d keys, %v, want key k1", len(keys), err)
				}
				return
			}
			if err == nil {
				t.Fatalf("got %d keys, want the file refused", len(keys))
			}
			for _, w := range []string{path, fmt.Sprintf("%04o", tt.perm), "chmod 600 " + path} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q: got no %q, want it", err, w)
				}
			}
		})
	}
}

func TestLoadKeyFileErrors(t *testing.T) {
	t.Parallel()
	t.Run("missing", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "nope")
		_, err := secrets.LoadKeyFile(path)
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
			t.Errorf("got %v, want fs.ErrNotExist naming %s", err, path)
		}
	})
	t.Run("directory", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if _, err := secrets.LoadKeyFile(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("got %v, want not a regular file", err)
		}
	})
	t.Run("bad content", func(t *testing.T) {
		t.Parallel()
		path := writeFile(t, "k1:short\n", 0o600)
		_, err := secrets.LoadKeyFile(path)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("got %v, want an error naming %s and line 1", err, path)
		}
	})
}

func TestCreateKeyFile(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "state", "connhub")
	path := filepath.Join(dir, "keys")
	keys, err := secrets.CreateKeyFile(path, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || !strings.HasPrefix(keys[0].ID, "k20250304T050607-") {
		t.Fatalf("got %#v, want one key k20250304T050607-…", keys)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := info.Mode().Perm(), os.FileMode(0o600); got != want {
		t.Errorf("file mode: got %04o, want %04o", got, want)
	}
	dinfo, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := dinfo.Mode().Perm(), os.FileMode(0o700); got != want {
		t.Errorf("directory mode: got %04o, want %04o", got, want)
	}
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"# connhub encryption keys", "lost", keys[0].String()} {
		if !strings.Contains(string(content), w) {
			t.Errorf("file: got no %q in\n%s", w, content)
		}
	}
	loaded, err := secrets.LoadKeyFile(path)
	if err != nil || len(loaded) != 1 || loaded[0].ID != keys[0].ID || !bytes.Equal(loaded[0].Material, keys[0].Material) {
		t.Errorf("LoadKeyFile: got %#v, %v, want the created key", loaded, err)
	}

	// A second start must never replace the keys.
	again, err := secrets.CreateKeyFile(path, testNow.Add(time.Hour))
	if !errors.Is(err, fs.ErrExist) || again != nil {
		t.Errorf("second CreateKeyFile: got %d keys, %v, want fs.ErrExist", len(again), err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, content) {
		t.Errorf("second CreateKeyFile changed the file: got\n%s\nwant\n%s", after, content)
	}
}

func TestAppendKey(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "keys")
	first, err := secrets.CreateKeyFile(path, testNow)
	if err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Twice in the same second: the IDs must still differ.
	a, err := secrets.AppendKey(path, testNow)
	if err != nil {
		t.Fatal(err)
	}
	b, err := secrets.AppendKey(path, testNow)
	if err != nil {
		t.Fatal(err)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(after, before) {
		t.Errorf("file: got\n%s\nwant it to start with the old file\n%s", after, before)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := info.Mode().Perm(), os.FileMode(0o600); got != want {
		t.Errorf("mode: got %04o, want %04o", got, want)
	}
	keys, err := secrets.LoadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	gotIDs := make([]string, len(keys))
	for i, k := range keys {
		gotIDs[i] = k.ID
	}
	if want := []string{first[0].ID, a.ID, b.ID}; !slices.Equal(gotIDs, want) {
		t.Fatalf("IDs: got %q, want %q", gotIDs, want)
	}
	if !bytes.Equal(keys[0].Material, first[0].Material) {
		t.Errorf("the first key's material changed")
	}
	// Added keys open but do not seal: the first key stays the primary.
	set, err := secrets.LoadKeySet(path)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := set.Keyring()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ring.Primary(), first[0].ID; got != want {
		t.Errorf("Primary: got %q, want %q", got, want)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("directory: got %d entries, want only the key file", len(entries))
	}
}

func TestAppendKeyCrashKeepsOldFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "keys")
	if _, err := secrets.CreateKeyFile(path, testNow); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := secrets.AppendKeyCrashingBeforeRename(path, testNow); !errors.Is(err, secrets.ErrSimulatedCrash) {
		t.Fatalf("got %v, want the simulated crash", err)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(after, before) {
		t.Errorf("file after a failed append: got\n%s\nwant\n%s", after, before)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("directory: got %d entries, want the temporary file removed", len(entries))
	}
}

func TestAppendKeyRefusesOpenFile(t *testing.T) {
	t.Parallel()
	content := "# keys\n" + newKey(t, "k1", 1).String() + "\n"
	path := writeFile(t, content, 0o644)
	if _, err := secrets.AppendKey(path, testNow); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("got %v, want the mode refused", err)
	}
	if got, _ := os.ReadFile(path); string(got) != content {
		t.Errorf("file: got %q, want it unchanged", got)
	}
	if _, err := secrets.AppendKey(filepath.Join(t.TempDir(), "none"), testNow); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: got %v, want fs.ErrNotExist", err)
	}
}

func TestAppendKeyToFileWithoutFinalNewline(t *testing.T) {
	t.Parallel()
	k := newKey(t, "k1", 1)
	path := writeFile(t, k.String(), 0o600)
	added, err := secrets.AppendKey(path, testNow)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := secrets.LoadKeyFile(path)
	if err != nil || len(keys) != 2 || keys[1].ID != added.ID {
		t.Errorf("got %#v, %v, want k1 then %s", keys, err, added.ID)
	}
}

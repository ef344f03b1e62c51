package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/posflag"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// ConfigEnv names the config file when --config is not given.
const ConfigEnv = "CONNHUB_CONFIG"

// envPrefix starts the name of every environment variable connhub reads.
const envPrefix = "CONNHUB_"

// Flags registers the global flags on fs: --config and the settings that are
// not serve's alone (--data-dir, --db, --key-file, --log-level, --log-format).
// The flags default to "" and show their defaults in their usage only, so a
// flag left unset never hides the environment or the file.
func Flags(fs *pflag.FlagSet) {
	fs.String("config", "", "YAML config file (env "+ConfigEnv+"; default none)")
	register(fs, false)
}

// ServeFlags registers the flags of `connhub serve` alone: where it listens
// and is reached, where Slack is, and how it treats its HTTP clients
// (timeouts, limits, TLS).
func ServeFlags(fs *pflag.FlagSet) { register(fs, true) }

func register(fs *pflag.FlagSet, serve bool) {
	for _, s := range settings {
		if s.flag == "" || s.serve != serve {
			continue
		}
		fs.String(s.flag, "", fmt.Sprintf("%s (env %s; default %s)", s.help, s.env, s.def))
	}
}

// Load builds the Config from, lowest first: the defaults, the config file,
// the environment, and the flags set on fs (nil for none). The file is the one
// --config names, else $CONNHUB_CONFIG, else none; `--config ""` means none.
// An empty value in any layer counts as unset. getenv reads the environment
// (os.Getenv in production).
//
// A config file that cannot be read or is not YAML ends the load: Load returns
// the zero Config and one error naming the path (and line). Otherwise it
// returns the Config with its defaults applied and an error joining every
// problem found (errors.Join, one line each): the file's unknown keys and
// misshapen values, then everything Validate reports. Use the Config only when
// the error is nil.
func Load(fs *pflag.FlagSet, getenv func(string) string) (Config, error) {
	var cfg Config

	// Each layer is loaded alone, so that we know which one set what.
	layers := [...]*koanf.Koanf{fromFile: koanf.New("."), fromEnv: koanf.New("."), fromFlag: koanf.New(".")}

	// The file. It is parsed here rather than by koanf's YAML parser, which
	// would turn an unquoted client_id such as 1234567890123.1234567890123
	// into a float and lose its digits, and keeps no line numbers.
	path, pathName := configPath(fs, getenv)
	var (
		lines    map[settingID]int
		problems []error
	)
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("%s %q: %s", pathName, path, readError(err))
		}
		var values map[settingID]string
		values, lines, problems, err = parseFile(path, data)
		if err != nil {
			return cfg, err
		}
		for id, v := range values {
			if err := layers[fromFile].Set(settings[id].key, v); err != nil {
				return cfg, fmt.Errorf("config: %s: %w", settings[id].key, err)
			}
		}
	}

	// The environment. getenv cannot list variables, so we ask for ours.
	var environ []string
	byEnv := map[string]string{}
	for _, s := range settings {
		byEnv[s.env] = s.key
		if v := getenv(s.env); v != "" {
			environ = append(environ, s.env+"="+v)
		}
	}
	err := layers[fromEnv].Load(env.Provider(".", env.Opt{
		Prefix:        envPrefix,
		EnvironFunc:   func() []string { return environ },
		TransformFunc: func(k, v string) (string, any) { return byEnv[k], v },
	}), nil)
	if err != nil {
		return cfg, fmt.Errorf("config: environment: %w", err)
	}

	// The flags the user set. Secrets have none; a flag of some other command
	// maps to "" and is skipped.
	if fs != nil {
		byFlag := map[string]string{}
		for _, s := range settings {
			if s.flag != "" {
				byFlag[s.flag] = s.key
			}
		}
		// With no koanf instance given, posflag skips every flag not Changed.
		err := layers[fromFlag].Load(posflag.ProviderWithFlag(fs, ".", nil, func(f *pflag.Flag) (string, any) {
			return byFlag[f.Name], f.Value.String()
		}), nil)
		if err != nil {
			return cfg, fmt.Errorf("config: flags: %w", err)
		}
	}

	k := koanf.New(".")
	for _, l := range layers {
		if l != nil {
			if err := k.Merge(l); err != nil {
				return cfg, fmt.Errorf("config: %w", err)
			}
		}
	}
	for id := range numSettings {
		key := settings[id].key
		v := k.String(key)
		cfg.set(id, v)
		if v == "" {
			continue
		}
		for l := fromFlag; l >= fromFile; l-- {
			if layers[l].String(key) != "" {
				cfg.from[id] = origin{layer: l}
				if l == fromFile {
					cfg.from[id] = origin{layer: l, file: path, line: lines[id]}
				}
				break
			}
		}
	}

	cfg = cfg.withDefaults(getenv)
	if err := cfg.Validate(); err != nil {
		problems = append(problems, err)
	}
	return cfg, errors.Join(problems...)
}

// configPath returns the config file's path and how it was named.
func configPath(fs *pflag.FlagSet, getenv func(string) string) (path, name string) {
	if fs != nil {
		if f := fs.Lookup("config"); f != nil && f.Changed {
			return f.Value.String(), "--config"
		}
	}
	return getenv(ConfigEnv), ConfigEnv
}

// readError says briefly why a file could not be read; the caller names it.
func readError(err error) string {
	if errors.Is(err, fs.ErrNotExist) {
		return "no such file"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// parseFile reads the settings out of a config file's YAML, taking each value
// as written (so 1234567890.0987654321 stays that string). A file that is not
// YAML is an error naming the path and line. Otherwise the problems it returns
// are the unknown keys and the values that are not plain strings, each naming
// path and line; lines gives the line of each setting found.
func parseFile(path string, data []byte) (values map[settingID]string, lines map[settingID]int, problems []error, err error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && err != io.EOF {
		return nil, nil, nil, yamlError(path, data, err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); err != io.EOF {
		if err != nil {
			return nil, nil, nil, yamlError(path, data, err)
		}
		return nil, nil, nil, fmt.Errorf("%s:%d: want one YAML document, found a second", path, next.Line)
	}

	values, lines = map[settingID]string{}, map[settingID]int{}
	byKey := map[string]settingID{}
	for id, s := range settings {
		byKey[s.key] = settingID(id)
	}
	bad := func(n *yaml.Node, format string, args ...any) {
		problems = append(problems, fmt.Errorf("%s:%d: %s", path, n.Line, fmt.Sprintf(format, args...)))
	}

	var walk func(m *yaml.Node, prefix string)
	walk = func(m *yaml.Node, prefix string) {
		seen := map[string]int{}
		for i := 0; i+1 < len(m.Content); i += 2 {
			kn, vn := m.Content[i], m.Content[i+1]
			key := prefix + kn.Value
			if first, dup := seen[kn.Value]; dup {
				bad(kn, "%s is set twice (first on line %d)", key, first)
				continue
			}
			seen[kn.Value] = kn.Line
			if vn.Kind == yaml.AliasNode {
				vn = vn.Alias
			}
			if key == "slack" {
				switch {
				case vn.Kind == yaml.MappingNode:
					walk(vn, "slack.")
				case !isNull(vn):
					bad(kn, "slack: want a mapping, with client_id, client_secret and signing_secret indented under it")
				}
				continue
			}
			id, known := byKey[key]
			if !known || strings.Contains(kn.Value, ".") {
				bad(kn, "unknown setting %q%s", key, suggest(key))
				continue
			}
			if isNull(vn) {
				continue
			}
			if vn.Kind != yaml.ScalarNode {
				bad(kn, "%s: want a string, not a %s", key, kindName(vn.Kind))
				continue
			}
			values[id], lines[id] = vn.Value, kn.Line
		}
	}
	switch root := docRoot(&doc); {
	case root == nil || isNull(root):
		// An empty file, or only comments: no settings.
	case root.Kind == yaml.MappingNode:
		walk(root, "")
	default:
		return nil, nil, nil, fmt.Errorf("%s:%d: want a mapping of settings, e.g. \"data_dir: /var/lib/connhub\", not a %s", path, root.Line, kindName(root.Kind))
	}
	return values, lines, problems, nil
}

func docRoot(doc *yaml.Node) *yaml.Node {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	return doc.Content[0]
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.SequenceNode:
		return "list"
	case yaml.MappingNode:
		return "mapping"
	}
	return "scalar"
}

// suggest returns " (did you mean KEY?)" for the known key nearest to an
// unknown one, or how to nest a dotted key.
func suggest(key string) string {
	best, dist := "", 3 // farther than 2 edits is no typo
	for _, s := range settings {
		if s.key == key {
			parent, child, _ := strings.Cut(key, ".")
			return fmt.Sprintf(" (write it nested: %q, then %q indented under it)", parent+":", child+":")
		}
		if d := editDistance(key, s.key); d < dist {
			best, dist = s.key, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

var yamlLineRE = regexp.MustCompile(`^yaml: line ([0-9]+): (.*)$`)

// yamlError turns a YAML syntax error into "PATH:LINE: not valid YAML: ...".
// The YAML parser leaves out the line when it is the first, and for bad bytes
// (invalid UTF-8, control characters), which we then find ourselves.
func yamlError(path string, data []byte, err error) error {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("%s:%s: not valid YAML: %s", path, m[1], m[2])
	}
	return fmt.Errorf("%s:%d: not valid YAML: %s", path, badByteLine(data), strings.TrimPrefix(msg, "yaml: "))
}

// badByteLine returns the line of the first byte YAML does not allow (invalid
// UTF-8 or a control character other than tab, newline and carriage return),
// or 1 if there is none.
func badByteLine(data []byte) int {
	line := 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if (r == utf8.RuneError && size <= 1) || (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f {
			return line
		}
		if r == '\n' {
			line++
		}
		i += size
	}
	return 1
}

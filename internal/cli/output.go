package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/itchyny/gojq"
	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/connhub/connhub/internal/safecsv"
)

// Every command that prints data prints it here: -o/--output names the
// format and --jq filters the JSON. A table is the command's own (it chooses
// the columns people read); every other format is made from the API's
// objects, the JSON the hub sent, so that each is the same data:
//
//	json   the objects, indented
//	jsonl  a list's objects, one a line
//	csv    a list's objects, a header row and a row an object; an object
//	       inside one is spread into "parent.child" columns, deeper values are
//	       JSON; every cell through internal/safecsv
//	yaml   the objects, keys in the API's order
//	--jq   a jq expression run on the JSON; a string result prints as its
//	       text, any other as one line of JSON
//
// A list may be printed in each format; a single object as table, json or
// yaml (a CSV of one row or JSON lines of one line say nothing more).

// The formats of -o.
var (
	listFormats   = []string{"table", "json", "jsonl", "csv", "yaml"}
	objectFormats = []string{"table", "json", "yaml"}
)

// outputFlags are -o and --jq.
type outputFlags struct {
	Format string
	JQ     string
}

// formatValue is the value of -o: it refuses a format the command does not
// print, naming the ones it does, when the command line is parsed.
type formatValue struct {
	p     *string
	valid []string
}

func (v formatValue) String() string { return *v.p }
func (v formatValue) Type() string   { return "format" }
func (v formatValue) Set(s string) error {
	if !slices.Contains(v.valid, s) {
		msg := "want " + orList(v.valid)
		if strings.ContainsAny(s, "./\\") {
			msg += " (-o is the format; --file names a file)"
		}
		return errors.New(msg)
	}
	*v.p = s
	return nil
}

// registerFormat adds -o to cmd, taking one of formats, the first the default.
func registerFormat(cmd *cobra.Command, p *string, formats []string, usage string) {
	*p = formats[0]
	cmd.Flags().VarP(formatValue{p, formats}, "output", "o", usage+": "+orList(formats))
	cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(formats, cobra.ShellCompDirectiveNoFileComp))
}

// register adds -o and --jq to cmd, which prints a list (every format) or a
// single object.
func (o *outputFlags) register(cmd *cobra.Command, list bool) {
	formats := objectFormats
	if list {
		formats = listFormats
	}
	registerFormat(cmd, &o.Format, formats, "output format")
	cmd.Flags().StringVar(&o.JQ, "jq", "", "filter the JSON output with a jq expression, e.g. '.[].id' (implies -o json)")
	cmd.RegisterFlagCompletionFunc("jq", cobra.NoFileCompletions)
}

// registerOutputs adds -o and --jq, bound to o, to each command of group
// that does not have its own -o and is not marked as printing no data;
// lists may be printed in every format.
func (o *outputFlags) registerOutputs(group *cobra.Command, lists ...*cobra.Command) {
	for _, c := range group.Commands() {
		if c.Flags().Lookup("output") == nil && c.Annotations[annotationOutput] != "none" {
			o.register(c, slices.Contains(lists, c))
		}
	}
}

// annotationOutput "none" marks a command that prints no data of its own.
const annotationOutput = "connhub-output"

// output is how a command prints its data, checked.
type output struct {
	format string
	jq     *gojq.Code
	jqSrc  string
}

// resolve checks the flags: --jq compiles and implies json.
func (o outputFlags) resolve() (output, error) {
	out := output{format: o.Format}
	if out.format == "" {
		out.format = "table"
	}
	if strings.TrimSpace(o.JQ) == "" {
		return out, nil
	}
	if out.format != "table" && out.format != "json" {
		return output{}, usageError{fmt.Errorf("--jq filters JSON: leave out -o %s, or give -o json", out.format)}
	}
	q, err := gojq.Parse(o.JQ)
	if err == nil {
		out.jq, err = gojq.Compile(q)
	}
	if err != nil {
		return output{}, usageError{fmt.Errorf("--jq %q: %v", o.JQ, err)}
	}
	out.format, out.jqSrc = "json", o.JQ
	return out, nil
}

// human reports whether the output is the table people read.
func (o output) human() bool { return o.format == "table" }

// emit writes v, the API's object or a list of them, in the output's format
// (not table, which each command writes itself).
func (o output) emit(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if o.jq != nil {
		return o.filter(w, b)
	}
	switch o.format {
	case "jsonl":
		return writeJSONLines(w, b)
	case "csv":
		return writeCSV(w, b)
	case "yaml":
		return writeYAML(w, b)
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, err = w.Write(buf.Bytes())
	return err
}

// emitLine writes one object of a list as a line of JSON, for a command
// that prints JSON lines as the objects come.
func emitLine(w io.Writer, v any) error {
	return json.NewEncoder(w).Encode(v)
}

// filter runs the jq expression on the JSON b.
func (o output) filter(w io.Writer, b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return err
	}
	iter := o.jq.Run(v)
	for {
		r, ok := iter.Next()
		if !ok {
			return nil
		}
		if err, isErr := r.(error); isErr {
			var halt *gojq.HaltError
			if errors.As(err, &halt) && halt.Value() == nil {
				return nil
			}
			return fmt.Errorf("--jq %q: %v", o.jqSrc, err)
		}
		if s, isString := r.(string); isString {
			if _, err := fmt.Fprintln(w, s); err != nil {
				return err
			}
			continue
		}
		line, err := gojq.Marshal(r)
		if err != nil {
			return fmt.Errorf("--jq %q: %v", o.jqSrc, err)
		}
		if _, err := w.Write(append(line, '\n')); err != nil {
			return err
		}
	}
}

// items are the elements of a JSON array; a value that is not an array is
// one item.
func items(b []byte) []json.RawMessage {
	var list []json.RawMessage
	if json.Unmarshal(b, &list) != nil {
		return []json.RawMessage{b}
	}
	return list
}

func writeJSONLines(w io.Writer, b []byte) error {
	var buf bytes.Buffer
	for _, it := range items(b) {
		if err := json.Compact(&buf, it); err != nil {
			return err
		}
		buf.WriteByte('\n')
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// member is one name and value of a JSON object.
type member struct {
	name  string
	value json.RawMessage
}

// members reads a JSON object's names and values in their order; false if
// b is not an object.
func members(b []byte) ([]member, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	var out []member
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return out, true
		}
		name, _ := t.(string)
		var v json.RawMessage
		if dec.Decode(&v) != nil {
			return out, true
		}
		out = append(out, member{name, v})
	}
	return out, true
}

// writeCSV writes a list as CSV: the columns are every object's names in
// the order they first appear, an object's objects spread one level.
func writeCSV(w io.Writer, b []byte) error {
	var columns []string
	seen := map[string]bool{}
	var rows []map[string]string
	for _, it := range items(b) {
		row := map[string]string{}
		add := func(name string, v json.RawMessage) {
			if !seen[name] {
				seen[name] = true
				columns = append(columns, name)
			}
			row[name] = csvCell(v)
		}
		ms, ok := members(it)
		if !ok {
			add("value", it)
		}
		for _, m := range ms {
			inner, isObject := members(m.value)
			if !isObject || len(inner) == 0 {
				add(m.name, m.value)
				continue
			}
			for _, im := range inner {
				add(m.name+"."+im.name, im.value)
			}
		}
		rows = append(rows, row)
	}
	cw := safecsv.NewWriter(w)
	if len(columns) > 0 {
		cw.Write(columns)
	}
	cells := make([]string, len(columns))
	for _, r := range rows {
		for i, c := range columns {
			cells[i] = r[c]
		}
		cw.Write(cells)
	}
	cw.Flush()
	return cw.Error()
}

// csvCell shows a JSON value in a CSV cell: a string as its text, null as
// nothing, any other value as compact JSON.
func csvCell(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	switch {
	case len(v) == 0 || string(v) == "null":
		return ""
	case v[0] == '"':
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s
		}
	}
	var buf bytes.Buffer
	if json.Compact(&buf, v) != nil {
		return string(v)
	}
	return buf.String()
}

// writeYAML writes JSON as YAML, keeping the order of the names.
func writeYAML(w io.Writer, b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	n, err := yamlNode(dec)
	if err != nil {
		return err
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return err
	}
	return enc.Close()
}

// yamlNode reads the next JSON value of dec as a YAML node.
func yamlNode(dec *json.Decoder) (*yaml.Node, error) {
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	scalar := func(tag, value string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value} }
	switch t := t.(type) {
	case json.Delim:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		if t == '{' {
			n.Kind, n.Tag = yaml.MappingNode, "!!map"
		}
		for dec.More() {
			if n.Kind == yaml.MappingNode {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				name, _ := k.(string)
				n.Content = append(n.Content, scalar("!!str", name))
			}
			v, err := yamlNode(dec)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, v)
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
		return n, nil
	case string:
		return scalar("!!str", t), nil
	case json.Number:
		if strings.ContainsAny(t.String(), ".eE") {
			return scalar("!!float", t.String()), nil
		}
		return scalar("!!int", t.String()), nil
	case bool:
		return scalar("!!bool", fmt.Sprint(t)), nil
	}
	return scalar("!!null", "null"), nil
}

// orList joins words as "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

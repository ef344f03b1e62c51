package cli

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/connhub/connhub/internal/config"
	"github.com/connhub/connhub/internal/hub"
	"github.com/connhub/connhub/internal/replica"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/store"
)

// The keys commands change the encryption keys while replicas serve. Each
// step is refused while a live replica (a heartbeat within
// replica.LiveWindow) could not follow it:
//
//	add      a new key in the key file; it opens, it does not seal
//	promote  the key seals from now on; refused until every live replica holds it
//	reseal   every secret sealed again with the primary; refused while a live replica lacks it
//	retire   the key leaves the file; refused while it is primary, a live
//	         replica seals with it, or any secret is still sealed with it
//	rotate   add, promote (waiting for the replicas) and reseal, in one go
func newKeysCmd(io streams) *cobra.Command {
	keys := &cobra.Command{
		Use:   "keys",
		Short: "Manage the encryption keys that seal connhub's secrets",
		Long: "Rotate keys while connhub serves: `keys add`, then `keys promote KEY_ID` once every replica\n" +
			"holds the new key, then `keys reseal`, then `keys retire OLD_KEY_ID`. `keys status` shows\n" +
			"the keys, how many secrets each seals, and what every live replica holds.",
	}
	generate := &cobra.Command{
		Use:   "generate",
		Short: "Print a new encryption key, for CONNHUB_ENCRYPTION_KEYS",
		Long: "Print a new key as one \"<id>:<base64>\" line. Keys in CONNHUB_ENCRYPTION_KEYS are listed\n" +
			"oldest first, separated by commas; the last seals. To rotate keys given by the environment:\n" +
			"add the new key before the last one on every replica and restart them, then make it the\n" +
			"last one on every replica and restart them, then run `connhub keys reseal`.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := secrets.GenerateKey(time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintln(io.stdout, k.String())
			return nil
		},
	}
	var wait, resealWait, retireWait time.Duration
	withConfig := func(c *cobra.Command, run func(ctx context.Context, cfg config.Config, args []string) error) *cobra.Command {
		c.RunE = func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(cmd, io)
			if err != nil {
				return err
			}
			return run(cmd.Context(), cfg, args)
		}
		config.Flags(c.Flags())
		return c
	}
	var statusOut outputFlags
	status := withConfig(&cobra.Command{
		Use:   "status",
		Short: "Show the keys, the secrets each seals, and the keys every live replica holds",
		Args:  noArgs,
	}, func(ctx context.Context, cfg config.Config, _ []string) error {
		out, err := statusOut.resolve()
		if err != nil {
			return err
		}
		return runKeysStatus(ctx, cfg, out, io)
	})
	statusOut.register(status, false)
	add := withConfig(&cobra.Command{
		Use:   "add",
		Short: "Add a new key to the key file; it opens secrets but does not seal yet",
		Long: "Append a new key to the key file. Every running replica reads the file again within a few\n" +
			"seconds (or at once on SIGHUP) and can then open what the key seals. Nothing is sealed with\n" +
			"it until `connhub keys promote KEY_ID`.",
		Args: noArgs,
	}, func(ctx context.Context, cfg config.Config, _ []string) error {
		_, err := runKeysAdd(cfg, io)
		return err
	})
	promote := withConfig(&cobra.Command{
		Use:   "promote KEY_ID",
		Short: "Make a key the one that seals, once every live replica holds it",
		Long: "Write KEY_ID as the key file's primary: every replica seals new secrets with it once it\n" +
			"reads the file again. Refused, naming them, while a live replica (one whose heartbeat is\n" +
			"younger than 30s) does not hold the key; --wait waits that long for them first.",
		Args: exactArgs("KEY_ID"),
	}, func(ctx context.Context, cfg config.Config, args []string) error {
		return runKeysPromote(ctx, cfg, args[0], wait, io)
	})
	promote.Flags().DurationVar(&wait, "wait", 0, "wait this long for every live replica to hold the key")
	reseal := withConfig(&cobra.Command{
		Use:   "reseal",
		Short: "Seal every secret again with the primary key",
		Long: "Seal again with the key file's primary every secret sealed with another key, in batches,\n" +
			"while connhub serves. Refused while a live replica lacks the primary key. --wait waits that\n" +
			"long for every live replica to seal with it first, so that none seals a secret with the old\n" +
			"key behind the reseal. If it stops half way, run it again.",
		Args: noArgs,
	}, func(ctx context.Context, cfg config.Config, _ []string) error {
		return runKeysReseal(ctx, cfg, resealWait, io)
	})
	reseal.Flags().DurationVar(&resealWait, "wait", 0, "wait this long for every live replica to seal with the primary key")
	retire := withConfig(&cobra.Command{
		Use:   "retire KEY_ID",
		Short: "Remove a key that seals nothing any more from the key file",
		Long: "Remove KEY_ID from the key file. Refused while it is the primary, while a live replica\n" +
			"still seals with it, or while any secret in the database is sealed with it (run\n" +
			"`connhub keys reseal` first); --wait waits that long for the replicas. Keep a copy of the old key file as long as database backups\n" +
			"sealed with the key exist.",
		Args: exactArgs("KEY_ID"),
	}, func(ctx context.Context, cfg config.Config, args []string) error {
		return runKeysRetire(ctx, cfg, args[0], retireWait, io)
	})
	retire.Flags().DurationVar(&retireWait, "wait", 0, "wait this long for every live replica to stop sealing with the key")
	var rotateWait time.Duration
	rotate := withConfig(&cobra.Command{
		Use:   "rotate",
		Short: "Add a key, promote it once every live replica holds it, and reseal: all in one",
		Long: "With a key file: `keys add`, then `keys promote --wait` (waiting for every live replica to\n" +
			"hold the new key), then `keys reseal`. With CONNHUB_ENCRYPTION_KEYS: `keys reseal` with\n" +
			"the last key listed there. The old key stays in the file; `keys retire` removes it.",
		Args: noArgs,
	}, func(ctx context.Context, cfg config.Config, _ []string) error {
		return runKeysRotate(ctx, cfg, rotateWait, io)
	})
	rotate.Flags().DurationVar(&rotateWait, "wait", time.Minute, "wait this long for every live replica to hold the new key")
	keys.AddCommand(generate, status, add, promote, reseal, retire, rotate)
	return keys
}

// keyFileOf is the key file the keys commands change, or a usage error when
// the keys come from the environment, which no command can change.
func keyFileOf(cfg config.Config) (string, error) {
	if !cfg.EncryptionKeys.IsZero() {
		return "", usageError{fmt.Errorf("the keys come from CONNHUB_ENCRYPTION_KEYS, which connhub cannot change: edit it on every replica and restart them (see `connhub keys generate --help`)")}
	}
	return cfg.KeyFile, nil
}

func runKeysAdd(cfg config.Config, io streams) (secrets.Key, error) {
	path, err := keyFileOf(cfg)
	if err != nil {
		return secrets.Key{}, err
	}
	k, err := secrets.AppendKey(path, time.Now())
	if err != nil {
		return secrets.Key{}, fmt.Errorf("add a key to %s: %w", path, err)
	}
	fmt.Fprintf(io.stdout, "connhub: added key %s to %s; it opens secrets but does not seal them yet\n", k.ID, path)
	fmt.Fprintf(io.stdout, "connhub: next, once every replica holds it: connhub keys promote %s\n", k.ID)
	return k, nil
}

// openKeyFileHub opens the hub for a step of a key's lifecycle: the key
// file the step changes, and the hub's store and keys, which must hold the
// key named. The caller closes h.Store.
func openKeyFileHub(ctx context.Context, cfg config.Config, id string, io streams) (path string, h *hub.Database, err error) {
	if path, err = keyFileOf(cfg); err != nil {
		return "", nil, err
	}
	if h, err = openHub(ctx, cfg, io.stdout, newLogger(cfg, io.stderr)); err != nil {
		return "", nil, err
	}
	if !h.Keys.Has(id) {
		h.Store.Close()
		return "", nil, fmt.Errorf("the key file %s holds no key %q (it holds %s): add one with `connhub keys add`", path, id, strings.Join(h.Keys.IDs(), ", "))
	}
	return path, h, nil
}

func runKeysPromote(ctx context.Context, cfg config.Config, id string, wait time.Duration, io streams) error {
	path, h, err := openKeyFileHub(ctx, cfg, id, io)
	if err != nil {
		return err
	}
	defer h.Store.Close()
	if h.Keys.Primary() == id {
		fmt.Fprintf(io.stdout, "connhub: key %s already seals\n", id)
		return nil
	}
	lacking, err := waitForReplicas(ctx, h, wait, func(live []store.Replica) []string { return replica.Lacking(live, id) })
	if err != nil {
		return err
	}
	if len(lacking) > 0 {
		return fmt.Errorf("refused: the live replicas %s do not hold key %s yet; a secret sealed with it would not open there. Give them the key file (they read it within seconds, or at once on SIGHUP), then try again or pass --wait 1m",
			strings.Join(lacking, ", "), id)
	}
	if err := secrets.PromoteKey(path, id, time.Now()); err != nil {
		return err
	}
	recordKeyEvent(ctx, h, io, "keys.promote", map[string]any{"key": id})
	fmt.Fprintf(io.stdout, "connhub: key %s now seals new secrets; every replica follows when it reads %s again\n", id, path)
	fmt.Fprintf(io.stdout, "connhub: next: connhub keys reseal\n")
	return nil
}

func runKeysReseal(ctx context.Context, cfg config.Config, wait time.Duration, io streams) error {
	h, err := openHub(ctx, cfg, io.stdout, newLogger(cfg, io.stderr))
	if err != nil {
		return err
	}
	defer h.Store.Close()
	primary := h.Keys.Primary()
	if _, err := waitForReplicas(ctx, h, wait, func(live []store.Replica) []string { return replica.SealingWith(live, primary, true) }); err != nil {
		return err
	}
	live, err := replica.Live(ctx, h.Store, time.Now())
	if err != nil {
		return err
	}
	if lacking := replica.Lacking(live, primary); len(lacking) > 0 {
		return fmt.Errorf("refused: the live replicas %s do not hold key %s, which seals; resealing now would leave them unable to open any secret. Give them the key file, then try again",
			strings.Join(lacking, ", "), primary)
	}
	n, err := h.Store.Reseal(ctx)
	if err != nil {
		return fmt.Errorf("reseal: %w (secrets already resealed stay readable with the new key; run again to finish)", err)
	}
	recordKeyEvent(ctx, h, io, "keys.reseal", map[string]any{"key": primary, "resealed": n})
	fmt.Fprintf(io.stdout, "connhub: sealed %d secrets again with key %s; the keys %s can open them\n", n, primary, strings.Join(h.Keys.IDs(), ", "))
	if others := replica.SealingWith(live, primary, true); len(others) > 0 {
		fmt.Fprintf(io.stdout, "connhub: the replicas %s still seal new secrets with another key; once they seal with %s (`connhub keys status`), run `connhub keys reseal` again\n",
			strings.Join(others, ", "), primary)
	}
	return nil
}

func runKeysRetire(ctx context.Context, cfg config.Config, id string, wait time.Duration, io streams) error {
	path, h, err := openKeyFileHub(ctx, cfg, id, io)
	if err != nil {
		return err
	}
	defer h.Store.Close()
	if h.Keys.Primary() == id {
		return fmt.Errorf("refused: key %s is the primary, which seals; promote another key first", id)
	}
	sealing, err := waitForReplicas(ctx, h, wait, func(live []store.Replica) []string { return replica.SealingWith(live, id, false) })
	if err != nil {
		return err
	}
	if len(sealing) > 0 {
		return fmt.Errorf("refused: the live replicas %s still seal new secrets with key %s; wait until they read the key file again (`connhub keys status`)", strings.Join(sealing, ", "), id)
	}
	counts, err := h.Store.SealedKeyCounts(ctx)
	if err != nil {
		return err
	}
	if n := counts[id]; n > 0 {
		return fmt.Errorf("refused: %d secrets in the database are still sealed with key %s; run `connhub keys reseal` first", n, id)
	}
	if err := secrets.RemoveKey(path, id); err != nil {
		return err
	}
	recordKeyEvent(ctx, h, io, "keys.retire", map[string]any{"key": id})
	fmt.Fprintf(io.stdout, "connhub: removed key %s from %s; no secret was sealed with it. Keep the old key file as long as database backups from before the reseal exist\n", id, path)
	return nil
}

func runKeysRotate(ctx context.Context, cfg config.Config, wait time.Duration, io streams) error {
	if cfg.EncryptionKeys.IsZero() {
		k, err := runKeysAdd(cfg, io)
		if err != nil {
			return err
		}
		if err := runKeysPromote(ctx, cfg, k.ID, wait, io); err != nil {
			return err
		}
	}
	return runKeysReseal(ctx, cfg, wait, io)
}

// keysStatus is what `keys status -o json` prints.
type keysStatus struct {
	From     string           `json:"from"` // the key file, or CONNHUB_ENCRYPTION_KEYS
	Keys     []keyStatus      `json:"keys"`
	Missing  map[string]int64 `json:"missing"` // secrets sealed with a key the keys lack, by key ID
	Replicas []replicaStatus  `json:"live_replicas"`
}

type keyStatus struct {
	ID      string `json:"id"`
	Role    string `json:"role"` // seals or opens
	Secrets int64  `json:"secrets"`
}

type replicaStatus struct {
	ID         string    `json:"id"`
	SeenAt     time.Time `json:"seen_at"`
	PrimaryKey string    `json:"primary_key"`
	KeyIDs     []string  `json:"key_ids"`
}

func runKeysStatus(ctx context.Context, cfg config.Config, out output, io streams) error {
	h, err := openHub(ctx, cfg, io.stdout, newLogger(cfg, io.stderr))
	if err != nil {
		return err
	}
	defer h.Store.Close()
	counts, err := h.Store.SealedKeyCounts(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	live, err := replica.Live(ctx, h.Store, now)
	if err != nil {
		return err
	}
	from := "CONNHUB_ENCRYPTION_KEYS"
	if h.KeyFile != "" {
		from = h.KeyFile
	}
	if !out.human() {
		st := keysStatus{From: from, Missing: map[string]int64{}}
		for _, id := range h.Keys.IDs() {
			st.Keys = append(st.Keys, keyStatus{id, map[bool]string{true: "seals", false: "opens"}[id == h.Keys.Primary()], int64(counts[id])})
			delete(counts, id)
		}
		for id, n := range counts {
			st.Missing[id] = int64(n)
		}
		for _, r := range live {
			st.Replicas = append(st.Replicas, replicaStatus{r.ID, r.SeenAt, r.PrimaryKey, r.KeyIDs})
		}
		return out.emit(io.stdout, st)
	}
	fmt.Fprintf(io.stdout, "keys (%s):\n", from)
	for _, id := range h.Keys.IDs() {
		role := "opens"
		if id == h.Keys.Primary() {
			role = "seals"
		}
		fmt.Fprintf(io.stdout, "  %-32s %-6s %d secrets\n", id, role, counts[id])
		delete(counts, id)
	}
	for _, id := range slices.Sorted(maps.Keys(counts)) {
		fmt.Fprintf(io.stdout, "  %-32s MISSING: %d secrets are sealed with a key these keys lack\n", id, counts[id])
	}
	fmt.Fprintf(io.stdout, "live replicas (a heartbeat in the last %s): %d\n", replica.LiveWindow, len(live))
	for _, r := range live {
		fmt.Fprintf(io.stdout, "  %s  seen %s ago  seals with %s  holds %s\n", r.ID, now.Sub(r.SeenAt).Round(time.Second), r.PrimaryKey, strings.Join(r.KeyIDs, ", "))
	}
	return nil
}

// waitForReplicas asks bad of the live replicas until it lists none or wait
// has passed, and returns its last answer.
func waitForReplicas(ctx context.Context, h *hub.Database, wait time.Duration, bad func([]store.Replica) []string) ([]string, error) {
	deadline := time.Now().Add(wait)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		live, err := replica.Live(ctx, h.Store, time.Now())
		if err != nil {
			return nil, err
		}
		ids := bad(live)
		if len(ids) == 0 || !time.Now().Before(deadline) {
			slices.Sort(ids)
			return ids, nil
		}
		select {
		case <-ctx.Done():
			return ids, ctx.Err()
		case <-tick.C:
		}
	}
}

// recordKeyEvent puts a step of the keys' lifecycle in every organization's
// audit log: the keys seal every organization's secrets. The step is done
// by then (the key file changed), so a failure to record it is printed, not
// returned.
func recordKeyEvent(ctx context.Context, h *hub.Database, io streams, action string, details map[string]any) {
	after := ""
	for {
		orgs, next, err := h.Store.ListOrganizations(ctx, store.Page{After: after, Limit: store.MaxPage})
		if err != nil {
			fmt.Fprintf(io.stderr, "connhub: %s is not in the audit log: %v\n", action, err)
			return
		}
		for _, o := range orgs {
			if _, err := h.Store.AppendAudit(ctx, store.AuditEvent{OrgID: o.ID, ActorKind: "system", ActorID: "system", CredentialID: "cli",
				Action: action, TargetType: "key", TargetID: fmt.Sprint(details["key"]), Details: details}); err != nil {
				fmt.Fprintf(io.stderr, "connhub: %s is not in organization %s's audit log: %v\n", action, o.ID, err)
			}
		}
		if next == "" {
			return
		}
		after = next
	}
}

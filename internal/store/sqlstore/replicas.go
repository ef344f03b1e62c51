package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/store"
)

// PutReplica upserts a replica's heartbeat.
func (s *Store) PutReplica(ctx context.Context, r store.Replica) error {
	ids, err := toJSON(r.KeyIDs)
	if err != nil {
		return err
	}
	if _, err := s.exec(ctx, `INSERT INTO replicas (id, key_ids, primary_key, seen_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET key_ids = excluded.key_ids, primary_key = excluded.primary_key, seen_at = excluded.seen_at`,
		r.ID, ids, r.PrimaryKey, r.SeenAt.UnixMilli()); err != nil {
		return fmt.Errorf("store: put replica %s: %w", r.ID, err)
	}
	return nil
}

// ListReplicas lists the replicas seen at or after since, by ID.
func (s *Store) ListReplicas(ctx context.Context, since time.Time) ([]store.Replica, error) {
	rs, err := collect(func(r scanner) (store.Replica, error) {
		var (
			x    store.Replica
			ids  string
			seen int64
		)
		if err := r.Scan(&x.ID, &ids, &x.PrimaryKey, &seen); err != nil {
			return x, err
		}
		x.SeenAt = time.UnixMilli(seen).UTC()
		return x, json.Unmarshal([]byte(ids), &x.KeyIDs)
	})(s.query(ctx, `SELECT id, key_ids, primary_key, seen_at FROM replicas WHERE seen_at >= ? ORDER BY id`, since.UnixMilli()))
	if err != nil {
		return nil, fmt.Errorf("store: list replicas: %w", err)
	}
	return rs, nil
}

// DeleteReplicas removes the row of id and the rows last seen before
// seenBefore.
func (s *Store) DeleteReplicas(ctx context.Context, id string, seenBefore time.Time) (int, error) {
	before := int64(-1) // no row is seen before the epoch's first millisecond
	if !seenBefore.IsZero() {
		before = seenBefore.UnixMilli()
	}
	res, err := s.exec(ctx, `DELETE FROM replicas WHERE id = ? OR seen_at < ?`, id, before)
	if err != nil {
		return 0, fmt.Errorf("store: delete replicas: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// SealedKeyCounts reads every sealed column in batches and counts the values
// by the key ID in their header.
func (s *Store) SealedKeyCounts(ctx context.Context) (map[string]int, error) {
	counts := map[string]int{}
	for _, t := range sealedColumns {
		for _, col := range t.columns {
			after := ""
			for {
				type row struct {
					id  string
					val []byte
				}
				rows, err := collect(func(r scanner) (row, error) {
					var x row
					err := r.Scan(&x.id, &x.val)
					return x, err
				})(s.query(ctx, fmt.Sprintf(`SELECT %s, %s FROM %s WHERE %s > ? AND %s IS NOT NULL ORDER BY %s LIMIT ?`,
					t.id, col, t.table, t.id, col, t.id), after, resealBatchSize))
				if err != nil {
					return nil, fmt.Errorf("store: count sealed secrets in %s.%s: %w", t.table, col, err)
				}
				for _, r := range rows {
					if len(r.val) == 0 {
						continue
					}
					id, err := secrets.SealedKeyID(r.val)
					if err != nil {
						return nil, fmt.Errorf("store: count sealed secrets: %s.%s of %s: %w", t.table, col, r.id, err)
					}
					counts[id]++
				}
				if len(rows) < resealBatchSize {
					break
				}
				after = rows[len(rows)-1].id
			}
		}
	}
	return counts, nil
}

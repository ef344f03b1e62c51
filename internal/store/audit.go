package store

import (
	"crypto/sha256"
	"encoding/binary"
	"strconv"
)

// AuditHash is the hash that chains an audit event to the one before it:
// SHA-256 over the previous hash and every field of the event, each
// length-prefixed so that no two events encode alike. details is the
// event's details as stored (JSON text), so that a verifier hashes the very
// bytes the appender did.
func AuditHash(prev []byte, e AuditEvent, details string) []byte {
	h := sha256.New()
	field := func(b []byte) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	field(prev)
	for _, s := range []string{strconv.FormatInt(e.Seq, 10), e.ID, e.OrgID, strconv.FormatInt(e.At.UnixMilli(), 10),
		e.ActorKind, e.ActorID, e.CredentialID, e.SourceIP, e.Action, e.TargetType, e.TargetID, e.Outcome, e.RequestID, details} {
		field([]byte(s))
	}
	return h.Sum(nil)
}

package graph

import (
	"fmt"
	"io"
	"log/slog"
)

// redacted is what a Secret prints as, whichever way it is printed.
const redacted = "[redacted]"

// Secret is a value that must never be printed, logged or marshalled by
// accident: a manifest's SAS token, and the blob URLs built from it. Every
// formatting path (fmt verbs, String, GoString, JSON, text, slog) yields
// "[redacted]"; only Reveal returns the value, and it is called where the
// ephemeral resource's result is built.
type Secret struct{ value string }

// NewSecret wraps v.
func NewSecret(v string) Secret { return Secret{value: v} }

// Reveal returns the secret value. Call it only where the value is handed
// to its one legitimate consumer.
func (s Secret) Reveal() string { return s.value }

// IsZero reports whether the secret is empty (absent in the response).
func (s Secret) IsZero() bool { return s.value == "" }

// String redacts.
func (Secret) String() string { return redacted }

// GoString redacts (%#v).
func (Secret) GoString() string { return redacted }

// Format redacts for every fmt verb, %x and %q included.
func (Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// MarshalJSON redacts.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText redacts (encoding/xml, YAML and other text encoders).
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// LogValue redacts for log/slog.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

package session

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/keystore"
)

// failingStore is a memory store whose calls fail with err while it is set.
type failingStore struct {
	*keystore.Memory
	err error
}

func (f *failingStore) Get(ctx context.Context, k keystore.Key) (*keystore.Record, error) {
	if f.err != nil {
		return nil, f.err
	}
	return f.Memory.Get(ctx, k)
}

// TestBackoffIgnoresCancelledCalls: during an outage, a call its caller
// cancelled neither ends the back-off nor reports the store back.
func TestBackoffIgnoresCancelledCalls(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var states []bool
	st := &failingStore{Memory: keystore.NewMemory(), err: fmt.Errorf("%w: redis down", keystore.ErrUnavailable)}
	b := backoffStore{Store: st, now: func() time.Time { return now }, b: &storeBackoff{},
		state: func(err error) { states = append(states, errors.Is(err, keystore.ErrUnavailable)) }}
	k := keystore.Key{Environment: "preprod", Username: "alice"}
	if _, err := b.Get(t.Context(), k); !errors.Is(err, keystore.ErrUnavailable) {
		t.Fatalf("Get in an outage = %v", err)
	}
	now = now.Add(2 * storeBackoffMin) // past the back-off: the next call reaches the store
	st.err = fmt.Errorf("keystore: redis read: %w", context.Canceled)
	if _, err := b.Get(t.Context(), k); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Get = %v", err)
	}
	if len(states) != 1 || !states[0] {
		t.Fatalf("store states reported %v, want one: unavailable (a cancelled call says nothing)", states)
	}
	if b.b.period != storeBackoffMin {
		t.Errorf("back-off period %s after a cancelled call, want %s kept", b.b.period, storeBackoffMin)
	}
}

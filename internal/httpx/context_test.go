package httpx

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestContextError(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancelCause(t.Context())
	cancel(errors.New("interrupted (Ctrl-C)"))
	err := ContextError(ctx)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "interrupted (Ctrl-C)") {
		t.Errorf("with a cause: %v", err)
	}
	plain, stop := context.WithCancel(t.Context())
	stop()
	if err := ContextError(plain); err != context.Canceled { //nolint:errorlint // the error itself, not wrapped
		t.Errorf("without a cause: %v", err)
	}
}

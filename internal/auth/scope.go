package auth

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// Scope returns the token source of one scope: the same *ScopedToken for
// the same scope on every call. Its token is requested on first use only,
// cached until near expiry, and shared by every caller in the process; the
// sharing and failure-memory rules hold per scope, so a failure of one
// scope never answers for another.
func (c *Credential) Scope(scope string) *ScopedToken {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.scopes[scope]
	if s == nil {
		s = &ScopedToken{c: c, scope: scope, sem: make(chan struct{}, 1)}
		c.scopes[scope] = s
	}
	return s
}

// resourceOf is the v1 resource of a scope ("https://graph.microsoft.com"
// for "https://graph.microsoft.com/.default"), which managed identity and
// the Azure CLI ask for.
func resourceOf(scope string) string { return strings.TrimSuffix(scope, "/.default") }

// ScopedToken hands out the token of one scope. It satisfies
// graph.TokenSource.
type ScopedToken struct {
	c     *Credential
	scope string

	sem chan struct{} // one acquisition at a time

	mu        sync.Mutex
	token     string
	expiresOn time.Time
	margin    time.Duration
	// failure is the outcome of the last failed token request cycle,
	// remembered until failureUntil, so that the reads queued behind it
	// share it instead of each running a cycle of their own.
	failure      error
	failureUntil time.Time
}

// Scope is the scope this source requests tokens for.
func (s *ScopedToken) Scope() string { return s.scope }

// Token returns the cached token, or acquires one.
func (s *ScopedToken) Token(ctx context.Context) (string, error) {
	tok, _, err := s.get(ctx)
	return tok, err
}

func (s *ScopedToken) cached() (string, time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token != "" && s.c.now().Before(s.expiresOn.Add(-s.margin)) {
		return s.token, s.expiresOn, true
	}
	return "", time.Time{}, false
}

func (s *ScopedToken) get(ctx context.Context) (string, time.Time, error) {
	if t, exp, ok := s.cached(); ok {
		return t, exp, nil
	}
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return "", time.Time{}, ctx.Err()
	}
	defer func() { <-s.sem }()
	if t, exp, ok := s.cached(); ok { // another caller got it while we waited
		return t, exp, nil
	}
	if err := s.recentFailure(); err != nil {
		return "", time.Time{}, err
	}
	c := s.c
	tok, exp, err := c.acquireWithRetry(ctx, s.scope)
	if err != nil {
		failure := c.failure(s.scope, err)
		// A cycle cut short by this caller's own context (a cancellation,
		// the deadline of its wait) says nothing about the identity host:
		// the next caller tries again.
		if ctx.Err() == nil {
			memory := definiteFailureMemory
			if transient(err) {
				memory = transientFailureMemory
			}
			s.rememberFailure(failure, memory)
		}
		return "", time.Time{}, failure
	}
	now := c.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failure = nil
	s.token, s.expiresOn = tok, exp
	// Refresh five minutes early, or halfway for short-lived tokens.
	s.margin = min(5*time.Minute, exp.Sub(now)/2)
	return tok, exp, nil
}

func (s *ScopedToken) recentFailure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failure != nil && s.c.now().Before(s.failureUntil) {
		return s.failure
	}
	return nil
}

func (s *ScopedToken) rememberFailure(err error, memory time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failure, s.failureUntil = err, s.c.now().Add(memory)
}

// Invalidate drops token if it is the cached one; the next Token call
// acquires a new token of this scope from the network.
func (s *ScopedToken) Invalidate(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if token != "" && token == s.token {
		s.token = ""
		s.c.acq.reset(s.scope)
	}
}

// TokenCredential is an azcore.TokenCredential view of the token source
// of scope, for the Azure SDK clients (azblob). It only ever serves that
// scope: a request for any other scope is an error, so a token never goes
// to a service it was not meant for.
func (c *Credential) TokenCredential(scope string) azcore.TokenCredential {
	return scopedCredential{s: c.Scope(scope)}
}

type scopedCredential struct{ s *ScopedToken }

// GetToken returns the scope's shared token. The SDK's bearer token policy
// keeps its own copy until near ExpiresOn, which is the same token.
func (sc scopedCredential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	if len(opts.Scopes) != 1 || opts.Scopes[0] != sc.s.scope {
		return azcore.AccessToken{}, fmt.Errorf("this credential only serves the scope %s, not %s", sc.s.scope, strings.Join(opts.Scopes, " "))
	}
	tok, exp, err := sc.s.get(ctx)
	if err != nil {
		return azcore.AccessToken{}, err
	}
	return azcore.AccessToken{Token: tok, ExpiresOn: exp}, nil
}

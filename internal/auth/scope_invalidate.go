package auth

// Invalidate drops token from the scope's cache when it is the cached one
// (a service refused it with 401), so that the next GetToken acquires a new
// token from the network (SPEC §5: 401 once).
func (sc scopedCredential) Invalidate(token string) { sc.s.Invalidate(token) }

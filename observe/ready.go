package observe

import (
	"net/http"
	"sync/atomic"
)

// Readiness states.
const (
	StateStarting = "starting"                                        // before the store is opened
	StateOpening  = "opening the store (journal replay or migration)" // inside storage.Open
	StateReady    = "ready"
	StateDraining = "draining (shutting down)"
)

// Readiness is whether the server should receive traffic.
type Readiness struct{ state atomic.Pointer[string] }

// NewReadiness starts in StateStarting.
func NewReadiness() *Readiness {
	r := &Readiness{}
	r.Set(StateStarting)
	return r
}

// Set changes the state.
func (r *Readiness) Set(state string) { r.state.Store(&state) }

// State returns the current state.
func (r *Readiness) State() string { return *r.state.Load() }

// Ready reports whether the state is StateReady.
func (r *Readiness) Ready() bool { return r.State() == StateReady }

// ServeReady answers /readyz: 200 when ready, else 503 with Retry-After
// and the state.
func (r *Readiness) ServeReady(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	st := r.State()
	if st != StateReady {
		w.Header().Set("Retry-After", "5")
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	w.Write([]byte(st + "\n"))
}

// ServeAlive answers /healthz: the process runs and answers.
func ServeAlive(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte("alive\n"))
}

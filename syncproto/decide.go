package syncproto

import (
	"errors"
	"fmt"
	"strconv"
)

// Decision is the answer to a sync-collection request, chosen by Decide from
// the token the client sent and the state of the store (docs/ARCHITECTURE.md,
// "Sync tokens and recovery"). The zero value is not a decision.
type Decision uint8

// The decisions. The HTTP mapping is the server's; it is noted here for the
// reader.
const (
	// Initial: the client sent no token. Answer 207 with every member of
	// the collection and a new token (RFC 6578 §3.8).
	Initial Decision = iota + 1
	// Incremental: answer 207 with the changes after Result.Since, taken
	// from the collection's change index, and a new token.
	Incremental
	// TokenTooOld: the token is from the store's current history line but
	// older than the collection's kept history. The store is complete, so
	// 403 with DAV:valid-sync-token is safe: the client resyncs from scratch.
	TokenTooOld
	// Malformed: the token does not parse, or it is another collection's.
	// 403 with DAV:valid-sync-token.
	Malformed
	// Recovering: the client has seen history the store does not hold (or
	// the store's own state is inconsistent). The principal becomes
	// RECOVERING (invariant 4): stock clients get 503 with a jittered
	// Retry-After, never a listing and never DAV:valid-sync-token.
	Recovering
)

var decisionNames = [...]string{
	Initial:     "initial",
	Incremental: "incremental",
	TokenTooOld: "token-too-old",
	Malformed:   "malformed",
	Recovering:  "recovering",
}

// String returns a short lowercase name, e.g. "token-too-old".
func (d Decision) String() string {
	if d >= Initial && int(d) < len(decisionNames) {
		return decisionNames[d]
	}
	return "Decision(" + strconv.Itoa(int(d)) + ")"
}

// TokenKind says what the client presented in DAV:sync-token. The zero value
// is not a kind: Decide answers Recovering for it, so that a caller that
// forgets to set it fails loudly and never serves a listing by mistake.
type TokenKind uint8

// The token kinds.
const (
	NoToken        TokenKind = iota + 1 // empty DAV:sync-token: initial sync
	ValidToken                          // parsed; Input.Token holds it
	MalformedToken                      // did not parse (ErrMalformedToken)
)

// Classify parses the value of DAV:sync-token for Decide: "" is NoToken, a
// string Parse accepts is ValidToken with its Token, anything else is
// MalformedToken.
func Classify(raw string) (Token, TokenKind) {
	tok, present, err := ParseOrInitial(raw)
	switch {
	case !present:
		return Token{}, NoToken
	case err != nil:
		return Token{}, MalformedToken
	}
	return tok, ValidToken
}

// Store is what Decide needs to know about a store's history.
type Store struct {
	// Epoch is the current history line.
	Epoch string
	// Earlier maps each earlier epoch the store knows to its fork seq: the
	// highest seq of that epoch's history that the current line contains
	// unchanged. For a chain of restores (A forked into B at 100, B into
	// the current C at 80) the store gives A's fork relative to the
	// current line: min(100, 80) = 80. A line started from nothing (a
	// rebuild from devices into an empty store) has fork seq 0.
	Earlier map[string]uint64
	// Head is the store's highest journal sequence.
	Head uint64
}

// Validate checks that the store's history is consistent: a valid current
// epoch, valid earlier epochs distinct from it, and fork seqs not past Head.
func (s Store) Validate() error {
	if !ValidEpoch(s.Epoch) {
		return errors.New("current epoch is not a valid epoch id")
	}
	for e, fork := range s.Earlier {
		if !ValidEpoch(e) {
			return errors.New("an earlier epoch is not a valid epoch id")
		}
		if e == s.Epoch {
			return fmt.Errorf("current epoch %s is also listed as an earlier one", e)
		}
		if fork > s.Head {
			return fmt.Errorf("earlier epoch %s forks at %d, past head %d", e, fork, s.Head)
		}
	}
	return nil
}

// Input is everything Decide looks at.
type Input struct {
	Kind  TokenKind // what the client sent (see Classify)
	Token Token     // the parsed token when Kind is ValidToken
	// Foreign is true when the caller knows the token is another
	// collection's. It is ignored when the token shows the store is behind
	// (Recovering outranks it).
	Foreign bool
	Store   Store
	// HistoryStart is the lowest token seq the collection's change index
	// can answer from: every change of the collection with a seq above it
	// is in the index. It is max(creation seq, pruned seq) and at most
	// Store.Head.
	HistoryStart uint64
	// Accepted holds the epochs (other than the current one) whose lost
	// history a closed recovery of this principal accounted for. A token of
	// such an epoch that would make the principal RECOVERING again (past
	// its fork, ahead of the head, or from an epoch the store does not
	// know) is TokenTooOld instead: the admin or the devices declared the
	// store complete, and a client that can never leave the 503s would be
	// stuck for good (the Carbonite failure in docs/ARCHITECTURE.md).
	Accepted map[string]bool
}

// Result is Decide's answer.
type Result struct {
	Decision Decision
	// Since is the seq to list changes after when Decision is Incremental
	// (always the token's seq); 0 otherwise.
	Since uint64
	// Reason names the row of the table that matched, for logs and for
	// the device library's distinct RECOVERING response.
	Reason string
}

// Decide applies the decision table of docs/ARCHITECTURE.md ("Sync tokens
// and recovery") to one sync-collection request. It is pure and total. It judges only the token: the caller has
// already answered 503 if the principal is RECOVERING. Rows, first match
// wins:
//
//  1. Kind is not set, in.Store fails Validate, or HistoryStart > Head →
//     Recovering, whatever the token: an inconsistent store fails an
//     integrity check (invariant 4), so it serves no listing at all.
//  2. Kind is NoToken → Initial.
//  3. Kind is MalformedToken → Malformed.
//  4. Epoch in Accepted (not the current one), and not known with seq ≤ its
//     fork seq → TokenTooOld (see Input.Accepted).
//  5. Token seq > Head, whatever the epoch → Recovering: the client has seen
//     changes the store does not hold.
//  6. Current epoch, seq 0 → Incremental since 0: the whole kept history of
//     the collection, present members and tombstones. The server never hands
//     out seq 0; the device library asks for it to read the server's full
//     state for reconciliation (a 404 member is a real deletion, so a stock
//     client that sent it would lose nothing either). It is never Foreign.
//  7. Current epoch, Foreign → Malformed.
//  8. Current epoch, seq < HistoryStart → TokenTooOld: the store is whole,
//     only the change index no longer reaches back that far.
//  9. Current epoch, HistoryStart ≤ seq ≤ Head → Incremental since seq.
//  10. Earlier known epoch, seq > its fork seq → Recovering: the client saw
//     changes of that line after the fork, which the store lost.
//  11. Earlier known epoch, seq ≤ fork seq, Foreign → Malformed.
//  12. Earlier known epoch, seq ≤ fork seq, seq < HistoryStart → TokenTooOld.
//  13. Earlier known epoch, HistoryStart ≤ seq ≤ fork seq → Incremental since
//     seq: everything the client saw is contained in the current line, and
//     the changes after seq in the current line are exactly what it lacks.
//  14. Unknown epoch → Recovering (a token from a history the store does not
//     know: a store rolled back past an epoch change, or a foreign store).
//
// Recovering outranks Foreign because answering DAV:valid-sync-token to a
// client whose data the store lacks is the failure invariant 4 prevents: a
// stock client would then list the collection and delete what it lacks.
func Decide(in Input) Result {
	if in.Kind < NoToken || in.Kind > MalformedToken {
		return recovering("input: token kind not set")
	}
	if err := in.Store.Validate(); err != nil {
		return recovering("store state inconsistent: " + err.Error())
	}
	if in.HistoryStart > in.Store.Head {
		return recovering(fmt.Sprintf("store state inconsistent: history start %d past head %d", in.HistoryStart, in.Store.Head))
	}
	switch in.Kind {
	case NoToken:
		return Result{Decision: Initial, Reason: "no token: initial sync"}
	case MalformedToken:
		return Result{Decision: Malformed, Reason: "token does not parse"}
	}
	t := in.Token
	if t.Epoch != in.Store.Epoch && in.Accepted[t.Epoch] {
		if fork, known := in.Store.Earlier[t.Epoch]; !known || t.Seq > fork {
			return Result{Decision: TokenTooOld, Reason: "epoch " + t.Epoch + ": history lost and accepted when a recovery closed"}
		}
	}
	if t.Seq > in.Store.Head {
		return recovering(fmt.Sprintf("token seq %d ahead of head %d", t.Seq, in.Store.Head))
	}
	line := "current epoch"
	if t.Epoch == in.Store.Epoch && t.Seq == 0 {
		return Result{Decision: Incremental, Since: 0, Reason: "current epoch, seq 0: the whole kept history with tombstones"}
	}
	if t.Epoch != in.Store.Epoch {
		fork, known := in.Store.Earlier[t.Epoch]
		if !known {
			return recovering("token from unknown epoch " + t.Epoch)
		}
		if t.Seq > fork {
			return recovering(fmt.Sprintf("token seq %d past fork %d of earlier epoch %s", t.Seq, fork, t.Epoch))
		}
		line = "earlier epoch " + t.Epoch + " within fork"
	}
	if in.Foreign {
		return Result{Decision: Malformed, Reason: line + ": another collection's token"}
	}
	if t.Seq < in.HistoryStart {
		return Result{Decision: TokenTooOld, Reason: fmt.Sprintf("%s: seq %d before history start %d", line, t.Seq, in.HistoryStart)}
	}
	return Result{Decision: Incremental, Since: t.Seq, Reason: line + ": changes since seq " + strconv.FormatUint(t.Seq, 10)}
}

func recovering(reason string) Result {
	return Result{Decision: Recovering, Reason: reason}
}

package main

import (
	"flag"
	"fmt"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"github.com/pimvault/pimvault/server"
)

// serveLimits are serve's admission and HTTP bounds (README.md, "Load and
// limits"); zero values take the server's defaults, sized from the cores
// and the file-descriptor limit.
type serveLimits struct {
	maxRequests, maxPerAccount, maxQueue, maxPasswordChecks int
	queueWait, requestTimeout, readTimeout                  time.Duration
	maxConnections                                          int
	trusted                                                 prefixList
}

// prefixList is a repeatable CIDR flag.
type prefixList []netip.Prefix

func (p *prefixList) String() string {
	var s []string
	for _, x := range *p {
		s = append(s, x.String())
	}
	return strings.Join(s, ",")
}

func (p *prefixList) Set(v string) error {
	pr, err := netip.ParsePrefix(v)
	if err != nil {
		a, aerr := netip.ParseAddr(v)
		if aerr != nil {
			return fmt.Errorf("%q is not a CIDR (such as 10.0.0.0/8) or an address", v)
		}
		pr = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
	}
	*p = append(*p, pr.Masked())
	return nil
}

func (l *serveLimits) register(fs *flag.FlagSet) {
	fs.IntVar(&l.maxRequests, "max-requests", 0, "requests handled at once; more wait briefly, then get 503 with Retry-After (0: 8 per core)")
	fs.IntVar(&l.maxPerAccount, "max-requests-per-account", 0, "requests of one account handled at once (0: half of --max-requests, at least 4)")
	fs.IntVar(&l.maxQueue, "max-queue", 0, "requests waiting for a slot; beyond it 503 at once (0: 4 times --max-requests)")
	fs.DurationVar(&l.queueWait, "queue-wait", 0, "the longest a request waits for a slot before 503 (0: 2s)")
	fs.IntVar(&l.maxPasswordChecks, "max-password-checks", 0, "bcrypt password checks run at once (0: one per core)")
	fs.DurationVar(&l.requestTimeout, "request-timeout", 0, "deadline of a request's work; its answer must be written within 30s more (0: 1m)")
	fs.DurationVar(&l.readTimeout, "read-timeout", 0, "the longest reading one request may take, body included: slow senders are cut off (0: 2m)")
	fs.IntVar(&l.maxConnections, "max-connections", 0, "open connections; up to an eighth more get 503 (or a health check) and are closed, beyond that they are closed at once (0: from the file-descriptor limit, at most 16384)")
	fs.Var(&l.trusted, "trusted-proxy", "a reverse proxy's address or CIDR (repeatable): from these peers only, the client address is read from Forwarded / X-Forwarded-For")
}

func (l *serveLimits) validate() error {
	for _, v := range []int{l.maxRequests, l.maxPerAccount, l.maxQueue, l.maxPasswordChecks, l.maxConnections} {
		if v < 0 {
			return fmt.Errorf("limits cannot be negative")
		}
	}
	for _, d := range []time.Duration{l.queueWait, l.requestTimeout, l.readTimeout} {
		if d < 0 {
			return fmt.Errorf("durations cannot be negative")
		}
	}
	if l.queueWait > time.Minute {
		return fmt.Errorf("--queue-wait %v: at most 1m (a client must get an answer within seconds)", l.queueWait)
	}
	return nil
}

func (l *serveLimits) apply(c *server.Config) {
	c.MaxRequests, c.MaxRequestsPerAccount, c.MaxQueue = l.maxRequests, l.maxPerAccount, l.maxQueue
	c.QueueWait, c.MaxPasswordChecks = l.queueWait, l.maxPasswordChecks
	c.RequestTimeout, c.ReadTimeout = l.requestTimeout, l.readTimeout
	c.TrustedProxies = l.trusted
}

// connections returns the connection cap and the overflow reserve beyond
// it: by default from RLIMIT_NOFILE (which Go raises to the hard limit at
// start), keeping room for the store's files, the admin socket and backups.
func (l *serveLimits) connections() (limit, reserve int) {
	limit = l.maxConnections
	if limit == 0 {
		limit = 16384
		var rl syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil && rl.Cur > 0 {
			cur := int(min(rl.Cur, 1<<20))
			avail := cur - min(256, cur/4)
			limit = min(limit, max(avail*8/9, 16))
		}
	}
	return limit, max(limit/8, 4)
}

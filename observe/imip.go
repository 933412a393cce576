package observe

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// MailQueue counts the outcomes of the iMIP mail queue's attempts; the
// queue's length is read from the store at scrape time
// (pimvault_imip_queue_length).
type MailQueue struct {
	outcomes *prometheus.CounterVec
}

var (
	mailOnce  sync.Mutex
	descQueue = prometheus.NewDesc("pimvault_imip_queue_length", "iMIP mail messages waiting in the outbox (all accounts).", nil, nil)
)

// MailQueue registers the mail queue's metrics (once) and returns them.
func (m *Metrics) MailQueue() *MailQueue {
	mailOnce.Lock()
	defer mailOnce.Unlock()
	if m.mail != nil {
		return m.mail
	}
	m.mail = &MailQueue{outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pimvault_imip_attempts_total",
		Help: "iMIP mail attempts by outcome: sent (the relay took it), retry (not taken; tried again later), failed (given up: SCHEDULE-STATUS 5.1)."}, []string{"outcome"})}
	for _, o := range []string{"sent", "retry", "failed"} {
		m.mail.outcomes.WithLabelValues(o) // present at 0
	}
	m.reg.MustRegister(m.mail.outcomes, queueCollector{m.store})
	return m.mail
}

// Observe counts one attempt's outcome ("sent", "retry" or "failed").
func (q *MailQueue) Observe(outcome string) {
	switch outcome {
	case "sent", "retry", "failed":
		q.outcomes.WithLabelValues(outcome).Inc()
	}
}

// queueCollector reads the outbox length from the store.
type queueCollector struct{ c *storeCollector }

func (q queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- descQueue }

func (q queueCollector) Collect(ch chan<- prometheus.Metric) {
	s := q.c.s.Load()
	if s == nil {
		return
	}
	if n, err := s.OutboxLen(""); err == nil {
		ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(n))
	}
}

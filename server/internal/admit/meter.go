package admit

import "time"

// meter counts completions and refusals in one-second buckets: the rate is
// the completions of the last whole second (smoothed), refused counts the
// refusals of the current and the previous second.
type meter struct {
	sec           int64 // the current bucket's Unix second
	done, refused int   // in the current bucket
	prevRefused   int   // in the bucket before
	rate          float64
}

func (m *meter) roll(now time.Time) {
	s := now.Unix()
	if s == m.sec {
		return
	}
	gap := s - m.sec
	if gap == 1 {
		m.rate = 0.5*m.rate + 0.5*float64(m.done)
		m.prevRefused = m.refused
	} else {
		m.rate /= 2
		if gap > 1 {
			m.rate = 0.5 * m.rate // a quiet second in between
		}
		m.prevRefused = 0
	}
	m.sec, m.done, m.refused = s, 0, 0
}

func (m *meter) add(now time.Time, done, refused int) {
	m.roll(now)
	m.done += done
	m.refused += refused
}

// read returns the completion rate per second and the recent refusals.
func (m *meter) read(now time.Time) (rate float64, refused int) {
	m.roll(now)
	r := m.rate
	if c := float64(m.done); c > r {
		r = c // this second already did better than the smoothed past
	}
	return r, m.refused + m.prevRefused
}

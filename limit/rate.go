package limit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Rate is an allowance of N events per period, written "N/unit" in policy
// files: "100/hour", "5/s", "10/minute". The zero Rate allows nothing.
type Rate struct {
	// N is how many events the period admits. It is always positive in a
	// Rate returned by ParseRate.
	N int
	// Per is the length of the period.
	Per time.Duration
}

// ErrBadRate is wrapped by every error ParseRate returns.
var ErrBadRate = errors.New("bad rate")

// units maps every accepted spelling of a period to its length.
var units = map[string]time.Duration{
	"s": time.Second, "sec": time.Second, "second": time.Second, "seconds": time.Second,
	"m": time.Minute, "min": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"h": time.Hour, "hr": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
}

// maxRateN bounds N so that token arithmetic never overflows.
const maxRateN = 1 << 40

// ParseRate parses "N/unit" where N is a positive decimal integer (digits
// only, no sign) and unit is one of
// second, minute, hour or day (also s, m, h, d, sec, min, hr and plurals).
// Spaces around the parts are ignored; the unit is case-insensitive.
func ParseRate(s string) (Rate, error) {
	num, unit, ok := strings.Cut(s, "/")
	if !ok {
		return Rate{}, fmt.Errorf("%w %q: want N/unit, e.g. \"100/hour\"", ErrBadRate, s)
	}
	num, unit = strings.TrimSpace(num), strings.ToLower(strings.TrimSpace(unit))
	n, err := strconv.Atoi(num)
	if err != nil || !allDigits(num) || n <= 0 || n > maxRateN {
		return Rate{}, fmt.Errorf("%w %q: count must be a whole number from 1 to %d", ErrBadRate, s, maxRateN)
	}
	per, ok := units[unit]
	if !ok {
		return Rate{}, fmt.Errorf("%w %q: unit must be second, minute, hour or day (or s, m, h, d)", ErrBadRate, s)
	}
	return Rate{N: n, Per: per}, nil
}

// allDigits reports whether s is one or more ASCII digits (no sign).
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// Valid reports whether r admits anything: N and Per both positive.
func (r Rate) Valid() bool { return r.N > 0 && r.Per > 0 }

// String formats r as "N/unit" using the long unit name when the period is a
// whole second, minute, hour or day, and as "N/<duration>" otherwise.
func (r Rate) String() string {
	switch r.Per {
	case time.Second:
		return strconv.Itoa(r.N) + "/second"
	case time.Minute:
		return strconv.Itoa(r.N) + "/minute"
	case time.Hour:
		return strconv.Itoa(r.N) + "/hour"
	case 24 * time.Hour:
		return strconv.Itoa(r.N) + "/day"
	}
	return strconv.Itoa(r.N) + "/" + r.Per.String()
}

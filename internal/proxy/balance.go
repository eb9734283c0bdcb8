package proxy

// loadView is what instance choice reads about one instance: its requests in
// flight and until when passive health ejected it.
type loadView interface {
	load() int64
	ejectedUntil() int64
}

// pickInstance is the pure instance choice. Given a revision's ready
// instances, a rotating start offset, a bit set of instances already tried
// for this request (bit i for instance i; instances past 64 are never
// marked) and now in Unix nanoseconds, it returns the index of the instance
// to use, or -1 when every instance was tried.
//
// Ejected instances are skipped while an untried instance that is not
// ejected remains. When all untried instances are ejected, ejection is
// ignored: passive health is a hint, and refusing every request would be
// worse than trying an instance that failed recently.
func pickInstance[V loadView](p Policy, insts []V, start, tried uint64, now int64) int {
	n := len(insts)
	if n == 0 {
		return -1
	}
	if i := scan(p, insts, start, tried, now, true); i >= 0 {
		return i
	}
	return scan(p, insts, start, tried, now, false)
}

// scan walks the instances from start and applies the policy to the ones
// that are untried and, when healthyOnly is set, not ejected.
func scan[V loadView](p Policy, insts []V, start, tried uint64, now int64, healthyOnly bool) int {
	n := uint64(len(insts))
	best, bestLoad := -1, int64(0)
	for k := range n {
		i := (start + k) % n
		if i < 64 && tried&(1<<i) != 0 {
			continue
		}
		if healthyOnly && insts[i].ejectedUntil() > now {
			continue
		}
		if p != LeastRequests {
			return int(i)
		}
		if l := insts[i].load(); best < 0 || l < bestLoad {
			best, bestLoad = int(i), l
		}
	}
	return best
}

// markTried returns tried with instance i marked.
func markTried(tried uint64, i int) uint64 {
	if i < 64 {
		tried |= 1 << uint(i)
	}
	return tried
}

// shouldEject is the pure passive-health decision: an instance that reached
// threshold consecutive failures and is not already ejected at now gets
// ejected.
func shouldEject(failures, threshold int, ejectedUntil, now int64) bool {
	return threshold > 0 && failures >= threshold && ejectedUntil <= now
}

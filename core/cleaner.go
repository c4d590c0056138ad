package session

import (
	"sync"
	"time"
)

// cleaner runs a store's periodic cleanup in one goroutine until stopped;
// the memory and file stores embed it.
type cleaner struct {
	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
	cleaned  chan struct{} // tests: a cleaner pass finished
}

// startCleaner runs pass every interval until stopCleaner.
func (c *cleaner) startCleaner(every time.Duration, pass func()) {
	c.stop, c.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(c.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-t.C:
				pass()
				if c.cleaned != nil {
					select {
					case c.cleaned <- struct{}{}:
					default:
					}
				}
			}
		}
	}()
}

// stopCleaner ends the goroutine, if one runs, and waits for it; it may be
// called more than once.
func (c *cleaner) stopCleaner() {
	if c.stop == nil {
		return
	}
	c.stopOnce.Do(func() { close(c.stop) })
	<-c.done
}

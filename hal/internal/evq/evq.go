// Package evq is the event queue of the hal drivers: values delivered on a
// buffered channel in the order they were pushed, without ever blocking
// the pusher (a device pushes under its own lock; a pump goroutine feeds
// the channel). It holds no device logic.
package evq

import "sync"

// Queue delivers values on a buffered channel in the order they were
// pushed, without ever blocking the pusher. Close stops the pump, moves
// what still fits into the channel's buffer and closes the channel.
type Queue[T any] struct {
	out  chan T
	wake chan struct{}
	done chan struct{}
	exit chan struct{}

	mu      sync.Mutex
	pending []T
	closed  bool
	pushed  uint64 // values pushed
	sent    uint64 // values handed to out
}

// Idle reports whether every value pushed has been taken by the consumer.
func (q *Queue[T]) Idle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.pushed == q.sent && len(q.out) == 0
}

func New[T any](size int) *Queue[T] {
	q := &Queue[T]{
		out:  make(chan T, size),
		wake: make(chan struct{}, 1),
		done: make(chan struct{}),
		exit: make(chan struct{}),
	}
	go q.pump()
	return q
}

// Push queues v; it never blocks and is a no-op after close.
func (q *Queue[T]) Push(v T) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.pending = append(q.pending, v)
	q.pushed++
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Out is the channel the consumer reads; Close closes it.
func (q *Queue[T]) Out() <-chan T { return q.out }

func (q *Queue[T]) pop() (T, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var zero T
	if len(q.pending) == 0 {
		return zero, false
	}
	v := q.pending[0]
	q.pending[0] = zero
	q.pending = q.pending[1:]
	return v, true
}

func (q *Queue[T]) unpop(v T) {
	q.mu.Lock()
	q.pending = append([]T{v}, q.pending...)
	q.mu.Unlock()
}

func (q *Queue[T]) pump() {
	defer close(q.exit)
	for {
		select {
		case <-q.done:
			return
		case <-q.wake:
		}
		for {
			v, ok := q.pop()
			if !ok {
				break
			}
			select {
			case q.out <- v:
				q.mu.Lock()
				q.sent++
				q.mu.Unlock()
			case <-q.done:
				q.unpop(v)
				return
			}
		}
	}
}

// Close is idempotent.
func (q *Queue[T]) Close() {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.closed = true
	q.mu.Unlock()
	close(q.done)
	<-q.exit
	for {
		v, ok := q.pop()
		if !ok {
			break
		}
		select {
		case q.out <- v:
			continue
		default:
		}
		break
	}
	close(q.out)
}

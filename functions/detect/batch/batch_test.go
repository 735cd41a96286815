package batch

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func double(items []int) ([]int, error) {
	out := make([]int, len(items))
	for i, v := range items {
		out[i] = 2 * v
	}
	return out, nil
}

func TestFullBatchRunsAsOneCall(t *testing.T) {
	var sizes []int
	var mu sync.Mutex
	b, err := New(double, Options{Window: time.Hour, Max: 8, Observe: func(n int, _ time.Duration, _ error) {
		mu.Lock()
		sizes = append(sizes, n)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := b.Do(context.Background(), i)
			if err != nil || got != 2*i {
				t.Errorf("item %d: got %d, %v", i, got, err)
			}
		}()
	}
	wg.Wait()
	if len(sizes) != 1 || sizes[0] != 8 {
		t.Fatalf("batch sizes %v, want [8]", sizes)
	}
}

func TestLoneItemRunsWhenWindowEnds(t *testing.T) {
	b, _ := New(double, Options{Window: 5 * time.Millisecond, Max: 8})
	defer b.Close()
	got, err := b.Do(context.Background(), 21)
	if err != nil || got != 42 {
		t.Fatalf("got %d, %v", got, err)
	}
}

func TestBatchesNeverOverlap(t *testing.T) {
	var running, most atomic.Int32
	slow := func(items []int) ([]int, error) {
		n := running.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(2 * time.Millisecond)
		running.Add(-1)
		return double(items)
	}
	b, _ := New(slow, Options{Window: time.Millisecond, Max: 3})
	defer b.Close()
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got, err := b.Do(context.Background(), i); err != nil || got != 2*i {
				t.Errorf("item %d: got %d, %v", i, got, err)
			}
		}()
	}
	wg.Wait()
	if most.Load() != 1 {
		t.Fatalf("%d batches ran at once", most.Load())
	}
}

func TestErrorsAndPanicsReachEveryCaller(t *testing.T) {
	for name, run := range map[string]Func[int, int]{
		"error":        func([]int) ([]int, error) { return nil, errors.New("boom") },
		"panic":        func([]int) ([]int, error) { panic("boom") },
		"short result": func([]int) ([]int, error) { return []int{1}, nil },
	} {
		t.Run(name, func(t *testing.T) {
			b, _ := New(run, Options{Window: time.Hour, Max: 2})
			defer b.Close()
			var wg sync.WaitGroup
			for i := 0; i < 2; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := b.Do(context.Background(), i); err == nil || !(strings.Contains(err.Error(), "boom") || strings.Contains(err.Error(), "results")) {
						t.Errorf("err = %v", err)
					}
				}()
			}
			wg.Wait()
		})
	}
}

func TestCancelledAndClosed(t *testing.T) {
	started, block := make(chan struct{}, 1), make(chan struct{})
	b, _ := New(func(items []int) ([]int, error) {
		started <- struct{}{}
		<-block
		return double(items)
	}, Options{Max: 1})
	first := make(chan error, 1)
	go func() { _, err := b.Do(context.Background(), 1); first <- err }()
	<-started // the first item now occupies the batch loop
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := b.Do(ctx, 2); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Do while busy past its deadline: %v", err)
	}
	close(block)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	b.Close()
	if _, err := b.Do(context.Background(), 4); !errors.Is(err, ErrClosed) {
		t.Fatalf("Do after Close: %v", err)
	}
}

func TestOptionsValidated(t *testing.T) {
	if _, err := New(double, Options{Max: 0}); err == nil {
		t.Fatal("max 0 accepted")
	}
	if _, err := New(double, Options{Max: 1, Window: -1}); err == nil {
		t.Fatal("negative window accepted")
	}
}
